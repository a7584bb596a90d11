"""A fast lane for hot, self-authenticating routes: media files, /api/usage and the job API.

NiceGUI wraps every request in its page middleware: the signed session cookie, per-browser storage
tracking, gzip, a prefix redirect fixer and cache headers - four of them BaseHTTPMiddleware, which
cost more than the routes themselves. Media and the small JSON reads need none of it: they check
the `pixora_session` cookie or a URL signature themselves, send their own cache headers, and are
already compressed (images) or tiny (JSON); the job API's POSTs check the Origin header themselves
(web.csrf), and the public API (/api/v1, /api/v1.0) authenticates every method with an API key.
So GET/HEAD requests to those paths, POSTs to /api/jobs… and every request to the public API go straight to
FastAPI's core (error handling, exception handlers, the router); everything else takes the normal
stack unchanged. Responses still carry an X-Request-ID. Installed by `register(app)`; the stack is
built lazily by Starlette, so it is in place whatever order middleware is added in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixora_ui.logs import request_id_var
from pixora_ui.web.edge import EdgeGuardMiddleware

FAST_PREFIXES: tuple[str, ...] = ("/media/", "/ik/", "/api/usage", "/api/jobs")
# Methods that take the fast lane: reads, and POSTs to the job API (they check the Origin themselves).
FAST_POST_PREFIXES: tuple[str, ...] = ("/api/jobs",)
# The public API authenticates every request with an API key (no cookies): every method, no page stack.
FAST_ANY_METHOD_PREFIXES: tuple[str, ...] = ("/api/v1", "/api/v1.0")
_INSTALLED = "_pixora_fast_lane"


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    """`path` is one of the routes or below one (`/api/usage`, `/api/jobs/…`), never `/api/usage-x`."""
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


class FastLane:
    def __init__(self, app: ASGIApp, fast: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.fast = fast
        self.prefixes = prefixes

    def _fast(self, method: str, path: str) -> bool:
        if _matches(path, FAST_ANY_METHOD_PREFIXES):
            return True
        if method in {"GET", "HEAD"}:
            return _matches(path, self.prefixes)
        return method == "POST" and _matches(path, FAST_POST_PREFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._fast(scope.get("method", ""), str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        token = request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.fast(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def install(app: FastAPI, prefixes: tuple[str, ...] = FAST_PREFIXES) -> None:
    """Wrap the app's middleware stack (once) so requests to `prefixes` skip the page middleware."""
    if getattr(app, _INSTALLED, False):
        return
    original: Callable[[], ASGIApp] = app.build_middleware_stack

    def build() -> ASGIApp:
        full = original()
        saved: list[Any] = list(app.user_middleware)
        app.user_middleware.clear()
        try:
            core = original()  # FastAPI's own layers around the router, without user middleware
        finally:
            app.user_middleware[:] = saved
        # The edge checks (NUL in the path or query) run before either lane.
        return EdgeGuardMiddleware(FastLane(full, core, prefixes))

    app.build_middleware_stack = build  # type: ignore[method-assign]
    setattr(app, _INSTALLED, True)
