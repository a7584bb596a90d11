"""The public API as its own FastAPI application, mounted at /api/v1 by `register(app)`.

Its own app gives it its own OpenAPI document (/api/v1/openapi.json), its own error shape and its
own body limits, without changing anything for the studio's routes. /api/docs serves the
interactive documentation for it. The remove.bg-compatible endpoint is mounted at /api/v1.0.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from pixora_ui.api import batches, catalog, edits, generations, photos, removebg
from pixora_ui.api.body_cap import BodyCapMiddleware
from pixora_ui.api.errors import install_error_handlers
from pixora_ui.api.schemas import ErrorBody
from pixora_ui.settings import get_settings

PREFIX = "/api/v1"
JSON_BODY_LIMIT = 256 * 1024
UPLOAD_SLACK = 1024 * 1024
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key, or an unknown or revoked one"},
    429: {"model": ErrorBody, "description": "Too many requests with this key: wait Retry-After seconds"},
}

DESCRIPTION = """
Pixora's public API: upload photos, run any studio tool on them, follow the jobs and download the
results. Authenticate every request with an API key from your profile page (Developer section):
`Authorization: Bearer pix_live_…` or `X-Api-Key: pix_live_…`. A key acts as its owner: the same
AI edits, plan and team.

Errors always look like `{"error": {"code": "not_found", "message": "That photo was not found."}}`.
Each key may make API_RATE_LIMIT requests a minute (120 unless the server says otherwise); past
that, 429 with a `Retry-After` header.
"""


def _v1_body_limit(path: str) -> int:
    if path.rstrip("/").endswith("/photos"):
        return get_settings().max_upload_bytes + UPLOAD_SLACK
    return JSON_BODY_LIMIT


def build_v1() -> FastAPI:
    api = FastAPI(
        title="Pixora API",
        version="1.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(api)
    api.add_middleware(BodyCapMiddleware, limit=_v1_body_limit)
    for router in (photos.router, edits.router, batches.router, generations.router, catalog.router):
        api.include_router(router, responses=COMMON_ERRORS)
    return api


DOCS_ASSETS = "/api/docs/assets"


async def api_docs() -> HTMLResponse:
    # Swagger UI's files come from the locked swagger-ui-bundle package, not a CDN: the docs page
    # works on a server with no internet access.
    return get_swagger_ui_html(
        openapi_url=f"{PREFIX}/openapi.json",
        title="Pixora API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
    )


def register(app: FastAPI) -> None:
    app.mount(removebg.PREFIX, removebg.build())
    app.mount(PREFIX, build_v1())
    from swagger_ui_bundle import swagger_ui_path  # noqa: PLC0415 - docs assets, loaded only when /docs is served

    app.add_api_route("/api/docs", api_docs, methods=["GET"], include_in_schema=False)
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")
