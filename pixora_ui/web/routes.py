"""Registers every plain HTTP route and middleware on the app (never as an import side effect)."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from pixora_ui.web import health
from pixora_ui.web.body_limit import BodyLimitMiddleware
from pixora_ui.web.edge import EdgeGuardMiddleware
from pixora_ui.web.middleware import RequestIdMiddleware
from pixora_ui.web.upload_guard import UploadGuardMiddleware

# Feature modules with a `register(app)` function for their HTTP routes.
ROUTE_MODULES: tuple[str, ...] = (
    "pixora_ui.web.auth_routes",
    "pixora_ui.web.billing_routes",
    "pixora_ui.web.media",
    "pixora_ui.web.ik",
    "pixora_ui.web.api",
    "pixora_ui.web.imagekit_routes",
    "pixora_ui.api.app",
    "pixora_ui.web.style_previews",
    "pixora_ui.web.batch_download",
)


def register_web(app: FastAPI) -> None:
    health.register(app)
    for name in ROUTE_MODULES:
        importlib.import_module(name).register(app)
    # Refuses oversized bodies on NiceGUI's upload route before it spools them to disk.
    app.add_middleware(BodyLimitMiddleware)
    # ... and only for a signed-in browser (NiceGUI itself needs just the page's client id).
    app.add_middleware(UploadGuardMiddleware)
    # NUL characters in a path or query never reach a route (PostgreSQL would answer them with a 500).
    app.add_middleware(EdgeGuardMiddleware)
    # Added last, so it wraps everything else: every response carries the request id.
    app.add_middleware(RequestIdMiddleware)
