"""The web server: builds the NiceGUI/FastAPI app and runs it (`main.py serve`).

Only `main.py serve` and NiceGUI's simulated-user tests import this module: the other commands
never load NiceGUI, FastAPI or Alembic.
"""

from __future__ import annotations

from nicegui import app, ui
from nicegui.storage import Storage

from pages import register_pages
from pixora_ui import lifecycle
from pixora_ui.logs import configure_logging
from pixora_ui.settings import Settings, is_user_simulation
from pixora_ui.web.routes import register_web


def build_app(settings: Settings) -> None:
    """Register pages, HTTP routes, middleware and lifecycle hooks on NiceGUI's FastAPI app."""
    configure_logging(settings)
    register_web(app)
    register_pages()
    app.on_startup(lifecycle.startup)
    app.on_shutdown(lifecycle.shutdown)


def run_server(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    build_app(settings)
    if not is_user_simulation():
        lifecycle.migrate_before_serving(settings)
        # Keep NiceGUI's per-browser storage inside the data folder, like everything else we write.

        Storage.path = settings.nicegui_storage_dir.resolve()
    ui.run(
        host=host or settings.host,
        port=port or settings.port,
        title="Pixora",
        favicon="✨",
        reload=False,
        show=False,
        storage_secret=settings.session_secret,
        session_middleware_kwargs={"https_only": settings.secure_cookies, "same_site": "lax"},
        forwarded_allow_ips=settings.forwarded_allow_ips,
        show_welcome_message=False,
        reconnect_timeout=10.0,
        uvicorn_logging_level="warning",
        timeout_graceful_shutdown=20,
    )
