"""The 404 page, shown for any unknown path."""

from __future__ import annotations

from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from nicegui import Client, app, ui
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from components import theme
from components.frame import frame


def not_found_content(path: str) -> None:
    with frame("Page not found"), ui.column().classes(f"{theme.SECTION} py-24 items-center text-center gap-4"):
        ui.icon("image_not_supported", size="64px").classes("text-primary")
        ui.label("404").classes(f"text-6xl {theme.HEADING}")
        ui.label("We couldn't find that page.").classes(f"text-xl {theme.HEADING}")
        ui.label(f"Nothing lives at {path}. It may have moved, or the link is wrong.").classes(theme.MUTED)
        with ui.row().classes("gap-3 mt-2"):
            ui.button("Go home", on_click=lambda: ui.navigate.to("/")).props("unelevated no-caps")
            ui.button("Open the studio", on_click=lambda: ui.navigate.to("/studio")).props("outline no-caps")


async def _not_found(request: Request, exception: Exception) -> Response:
    endpoint = request.scope.get("endpoint")
    is_page = request.scope.get("nicegui_page_path")
    if (endpoint is not None and not is_page and isinstance(exception, StarletteHTTPException)) or (
        request.url.path.startswith(("/api/", "/media/", "/_nicegui"))
    ):
        # API routes answer JSON; only browsers asking for a page get the HTML 404 page.
        if isinstance(exception, StarletteHTTPException):
            return await http_exception_handler(request, exception)
        return JSONResponse({"error": "not_found"}, status_code=404)
    with Client(ui.page(""), request=request) as client:
        not_found_content(request.url.path)
    return client.build_response(request, 404)


def register_not_found() -> None:
    app.add_exception_handler(404, _not_found)
