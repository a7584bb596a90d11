"""What the web routes (`/api/...` outside `/api/v1`, billing, ImageKit) answer, in one place.

Their error shape predates `/api/v1` and stays as it is: `{"error": code, "message": ..., ...}`
(the public API's `{"error": {"code", "message"}}` lives in `pixora_ui.api.errors`). Every answer
is `Cache-Control: no-store`: it depends on who asks.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from pixora_ui.engine.tools.registry import ParamError, ToolError, ToolUnavailable
from pixora_ui.errors import PixoraError

NO_STORE = {"Cache-Control": "no-store"}


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def json_error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return json_response({"error": code, "message": message, **extra}, status)


def error_from(exc: PixoraError) -> JSONResponse:
    """The web routes' translation of a PixoraError: its own status and code, except the tool errors,
    which these routes have always answered with the older codes `unavailable` and `bad_request`."""
    if isinstance(exc, ToolUnavailable):
        return json_error(503, "unavailable", exc.message)
    if isinstance(exc, ParamError | ToolError):
        return json_error(400, "bad_request", exc.message)
    return json_error(exc.status, exc.code, exc.message)


class BodyTooLarge(Exception):
    """The request body is over the cap; nothing past the cap was read."""


async def read_capped(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (BodyTooLarge) as soon as it passes `max_bytes`: by its declared
    length when it has one, else while it streams (a chunked body declares none)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise BodyTooLarge
    return bytes(body)
