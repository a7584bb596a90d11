"""Pixora: the entry point. Builds the app and runs it; also the command line.

python main.py serve [--host H] [--port P]
python main.py migrate
python main.py models install|list
python main.py edit PHOTOS... --tool TOOL [--param k=v ...] -o OUT
python main.py admin create-user|set-plan|create-api-key ...
python main.py bench
"""

from __future__ import annotations

import sys

from nicegui import app, ui

from pages import register_pages
from pixora_ui import lifecycle
from pixora_ui.logs import configure_logging
from pixora_ui.settings import Settings, get_settings, is_user_simulation
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
        from nicegui.storage import Storage

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


if __name__ in {"__main__", "__mp_main__"}:
    if is_user_simulation():
        # NiceGUI's simulated `user` test fixture runs this file; serve the app without the CLI.
        run_server(get_settings())
    else:
        from pixora_ui.cli import main as cli_main

        sys.exit(cli_main(sys.argv[1:], run_server=run_server))
