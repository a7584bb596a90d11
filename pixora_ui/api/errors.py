"""One error shape for the whole public API: `{"error": {"code": "...", "message": "..."}}`.

Messages are plain sentences that are safe to show; codes are stable, for programs to branch on.
This is the API's one translation of `pixora_ui.errors.PixoraError`: a service error that reaches a
route answers with its own status, code and message, so routes do not catch and re-map them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from pixora_ui.errors import PixoraError

log = logging.getLogger("pixora.api")

NO_STORE = {"Cache-Control": "no-store"}

_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request is not valid."),
    401: ("unauthorized", "Send your API key."),
    404: ("not_found", "Nothing was found at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("too_large", "The request is too large."),
    415: ("unsupported_media_type", "This type of content is not accepted here."),
    422: ("invalid_request", "The request is not valid."),
    429: ("rate_limited", "Too many requests."),
}


class ApiError(PixoraError):
    """Raised in an API route for what only the API says (a missing header, an unknown tool name)."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, status, code)
        self.headers = dict(headers or {})


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


def not_found(what: str = "photo") -> ApiError:
    return ApiError(404, "not_found", f"That {what} was not found.")


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors: list[Any] = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "bad_json", "The request body is not valid JSON."
    if not errors:
        return 422, "invalid_request", "The request is not valid."
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in {"body", "query", "header", "path"})
    message = str(first.get("msg", "is not valid"))
    return 422, "invalid_request", f"{where}: {message}" if where else message


def install_error_handlers(app: FastAPI) -> None:
    async def pixora_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PixoraError)
        return error_response(exc.status, exc.code, exc.message, exc.headers if isinstance(exc, ApiError) else None)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code, message = _STATUS_CODES.get(exc.status_code, ("error", "The request could not be completed."))
        return error_response(exc.status_code, code, message, exc.headers)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        status, code, message = _validation_message(exc)
        return error_response(status, code, message)

    async def server_error(_request: Request, exc: Exception) -> Response:
        log.error("API request failed", exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong on the server. Please try again.")

    app.add_exception_handler(PixoraError, pixora_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)
