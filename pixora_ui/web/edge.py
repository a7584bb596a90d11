"""Checks at the edge, before any route runs: a NUL character in the path or the query string.

PostgreSQL refuses NUL in text (an uncaught DataError, a 500) while SQLite stores it: neither is a
request Pixora can mean, so it is answered here, the same on both databases - 404 for a path (like
any id that does not exist) and 400 with a message for a query string.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

_NUL_MARKERS = (b"%00", b"\x00")


def has_nul(raw: bytes) -> bool:
    lowered = raw.lower()
    return any(marker in lowered for marker in _NUL_MARKERS)


def contains_nul(value: Any) -> bool:
    """Whether a parsed JSON value holds a NUL character in any string, key or value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class EdgeGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
        if has_nul(raw_path) or "\x00" in scope.get("path", ""):
            await _refuse(scope, send, 404, {"error": "not_found", "message": "This page does not exist."})
            return
        if has_nul(scope.get("query_string", b"")):
            message = "The address contains a character that is not allowed."
            await _refuse(scope, send, 400, {"error": "bad_request", "message": message})
            return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, status: int, body: dict[str, str]) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers.append((b"cache-control", b"no-store"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
