"""NiceGUI's upload route (`POST /_nicegui/client/<id>/upload/<id>`) only needs a page's client id;
this guard also requires a live Pixora session cookie, so a leaked or guessed client id alone cannot
push files into someone's studio. The upload zone still checks that the session is the page's user.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from pixora_ui.auth.current import current_user_from_token
from pixora_ui.auth.sessions import SESSION_COOKIE

_UPLOAD_PATH = re.compile(r"^/_nicegui/client/[^/]+/upload/[^/]+/?$")


def _session_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is simply no session
                return None
            morsel = cookie.get(SESSION_COOKIE)
            return morsel.value if morsel is not None else None
    return None


class UploadGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not _UPLOAD_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return

        if await current_user_from_token(_session_token(scope)) is None:
            body = b"Sign in to upload photos."
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the body was not read
            ]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
