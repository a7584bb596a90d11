"""Registers every plain HTTP route and middleware on the app (never as an import side effect)."""

from __future__ import annotations

from fastapi import FastAPI

from pixora_ui.api import app as public_api
from pixora_ui.web import (
    api,
    auth_routes,
    batch_download,
    billing_routes,
    health,
    ik,
    imagekit_routes,
    media,
    style_previews,
)
from pixora_ui.web.body_limit import BodyLimitMiddleware
from pixora_ui.web.edge import EdgeGuardMiddleware
from pixora_ui.web.middleware import RequestIdMiddleware
from pixora_ui.web.upload_guard import UploadGuardMiddleware


def register_web(app: FastAPI) -> None:
    health.register(app)
    auth_routes.register(app)
    billing_routes.register(app)
    media.register(app)
    ik.register(app)
    api.register(app)
    imagekit_routes.register(app)
    public_api.register(app)
    style_previews.register(app)
    batch_download.register(app)
    # Refuses oversized bodies on NiceGUI's upload route before it spools them to disk.
    app.add_middleware(BodyLimitMiddleware)
    # ... and only for a signed-in browser (NiceGUI itself needs just the page's client id).
    app.add_middleware(UploadGuardMiddleware)
    # NUL characters in a path or query never reach a route (PostgreSQL would answer them with a 500).
    app.add_middleware(EdgeGuardMiddleware)
    # Added last, so it wraps everything else: every response carries the request id.
    app.add_middleware(RequestIdMiddleware)
