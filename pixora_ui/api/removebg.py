"""`POST /api/v1.0/removebg`: remove.bg's API, answered by Pixora's own remove-bg tool.

An existing remove.bg client switches by changing only the base URL. The request is remove.bg's
(`X-Api-Key`; `image_file` as multipart, or `image_file_b64`; `size`, `type`, `format`,
`channels`, `bg_color`, `crop`, `crop_margin`, `roi`, `scale`, `position`), so are the answer (the
image bytes with X-Width, X-Height, X-Credits-Charged, X-Type and X-Foreground-* headers, or
`{"data": {"result_b64": …}}` for `Accept: application/json`) and the errors
(`{"errors": [{"title", "code", "detail"}]}`: 400, 402 no edits left, 403 bad key, 429 rate limit).

The photo runs as a normal remove-bg job (same credits: one AI edit from a Free account) and is
awaited; the upload and its cut-out are then deleted from the library, like remove.bg keeps nothing.
Not supported (400 with the reason): `image_url`/`bg_image_url` (this server fetches no URLs),
`bg_image_file`, and `roi`/`scale`/`position` other than their defaults.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from db.session import session_scope
from pixora_ui.api import auth
from pixora_ui.api.body_cap import BodyCapMiddleware
from pixora_ui.api.photos import image_input_error
from pixora_ui.api.removebg_options import RemoveBgError, bad_parameter, parse_options, render
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.engine.tools.registry import ImageArray, ToolError, ToolUnavailable
from pixora_ui.services import assets, jobs
from pixora_ui.services.assets import AssetNotFound, QuotaExceeded
from pixora_ui.services.jobs import LimitReached
from pixora_ui.settings import get_settings

PREFIX = "/api/v1.0"
TOOL = "remove-bg"


def error_response(
    status: int, title: str, code: str, detail: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    error: dict[str, str] = {"title": title, "code": code}
    if detail:
        error["detail"] = detail
    return JSONResponse(
        {"errors": [error]}, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


def _decode_b64(raw: str) -> bytes:
    text = raw.strip()
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise bad_parameter(
                "Invalid image_file_b64", "image_file_b64 is not valid base64.", "invalid_image"
            ) from None


async def read_request(request: Request) -> tuple[dict[str, str], bytes, str]:
    """(text fields, image bytes, file name) from a multipart, urlencoded or JSON request."""
    content_type = request.headers.get("content-type", "").lower()
    fields: dict[str, str] = {}
    data: bytes | None = None
    name = "image"
    if content_type.startswith("application/json"):
        raw = await request.body() or b"{}"
        try:
            # A base64 photo makes a body of many MB: parse it off the event loop.
            body = json.loads(raw) if len(raw) < 64 * 1024 else await asyncio.to_thread(json.loads, raw)
        except ValueError:
            raise bad_parameter("Invalid JSON", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise bad_parameter("Invalid JSON", "Send a JSON object.")
        fields = {
            k: ("true" if v is True else "false" if v is False else str(v)) for k, v in body.items() if v is not None
        }
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        # image_file_b64 is a text field of many MB (Starlette's default cap for one is 1 MB).
        form: FormData = await request.form(max_files=2, max_fields=40, max_part_size=_body_limit(""))
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if key == "image_file":
                        data = await value.read()
                        name = value.filename or name
                    elif key == "bg_image_file":
                        raise bad_parameter("Unsupported parameter", "bg_image_file is not supported; use bg_color.")
                else:
                    fields[key] = value
        finally:
            await form.close()
    else:
        raise bad_parameter(
            "Unsupported content type", "Send multipart/form-data, application/x-www-form-urlencoded or JSON."
        )
    if data is None and fields.get("image_file_b64"):
        data = await asyncio.to_thread(_decode_b64, fields.pop("image_file_b64"))
    if data is None:
        if fields.get("image_url"):
            raise bad_parameter(
                "Unsupported parameter", "image_url is not supported: this server fetches no URLs. Send the file."
            )
        raise bad_parameter("No image given", "Send the image as image_file or image_file_b64.", "missing_source")
    return fields, data, name


async def _run_tool(user_id: int, data: bytes, name: str) -> tuple[ImageArray, int, str]:
    """Upload, run remove-bg as a job and await it: (cut-out pixels, credits charged, upload id)."""
    try:
        async with session_scope() as session:
            upload = await assets.upload(session, owner_id=user_id, data=data, filename=name)
            view = await jobs.submit(
                session, user_id=user_id, asset_id=upload.id, tool=TOOL, params={"output": "transparent"}
            )
    except ImageInputError as exc:
        if image_input_error(exc).status == 413:
            raise RemoveBgError(413, "File too large", "file_too_large", str(exc)) from None
        raise RemoveBgError(400, "Invalid image", "invalid_image", str(exc)) from None
    except QuotaExceeded as exc:
        raise RemoveBgError(402, "Storage full", "storage_full", str(exc)) from None
    except LimitReached as exc:
        raise RemoveBgError(402, "Insufficient credits", "insufficient_credits", str(exc)) from None
    except ToolUnavailable as exc:
        raise RemoveBgError(503, "Service unavailable", "service_unavailable", str(exc)) from None
    except (ToolError, AssetNotFound) as exc:
        raise RemoveBgError(400, "Could not process the image", "processing_failed", str(exc)) from None
    try:
        done = await jobs.wait_for(view.id, user_id=user_id, timeout=get_settings().job_timeout_s + 30.0)
        if done.status != "succeeded" or not done.result_asset_id:
            detail = done.error or "The background removal was stopped."
            raise RemoveBgError(400, "Could not process the image", "processing_failed", detail)
        async with session_scope() as session:
            result = await assets.get_asset(session, owner_id=user_id, asset_id=done.result_asset_id)
        pixels = await assets.decode_view(result)
        return pixels, 1 if done.credit_state == "kept" else 0, upload.id
    except BaseException:
        await _forget_upload(user_id, upload.id)
        raise


async def _forget_upload(user_id: int, upload_id: str) -> None:
    """remove.bg keeps nothing: the upload and its versions leave the library (purged after the undo window)."""
    try:
        async with session_scope() as session:
            await assets.delete_asset(session, owner_id=user_id, asset_id=upload_id)
    except AssetNotFound:
        pass


async def removebg(request: Request) -> Response:
    try:
        owner = await auth.identify(request)
    except auth.RateLimited as exc:
        return error_response(429, "Rate limit exceeded", "rate_limit_exceeded", "", auth.rate_headers(exc.verdict))
    except auth.KeyMissing:
        return error_response(403, "Missing API Key", "auth_failed")
    except auth.KeyInvalid:
        return error_response(403, "API Key invalid", "auth_failed")
    try:
        fields, data, name = await read_request(request)
        opts = parse_options(fields)
        pixels, charged, upload_id = await _run_tool(owner.user_id, data, name)
    except RemoveBgError as exc:
        return error_response(exc.status, exc.title, exc.code, exc.detail, exc.headers)
    try:
        out = await asyncio.to_thread(render, pixels, opts)
    finally:
        await _forget_upload(owner.user_id, upload_id)
    left, top, fg_w, fg_h = out.foreground
    headers = {
        "X-Type": "other" if opts.type == "auto" else opts.type,
        "X-Width": str(out.width),
        "X-Height": str(out.height),
        "X-Credits-Charged": str(charged),
        "X-Foreground-Top": str(top),
        "X-Foreground-Left": str(left),
        "X-Foreground-Width": str(fg_w),
        "X-Foreground-Height": str(fg_h),
        "Cache-Control": "no-store",
    }
    if "application/json" in request.headers.get("accept", "").lower():
        encoded = await asyncio.to_thread(lambda: base64.b64encode(out.data).decode())
        body: dict[str, Any] = {
            "data": {
                "result_b64": encoded,
                "foreground_top": top,
                "foreground_left": left,
                "foreground_width": fg_w,
                "foreground_height": fg_h,
            }
        }
        return JSONResponse(body, headers=headers)
    return Response(out.data, media_type=out.media_type, headers=headers)


def _body_limit(_path: str) -> int:
    # Base64 in a form is a third larger than the file.
    return get_settings().max_upload_bytes * 4 // 3 + 1024 * 1024


def build() -> FastAPI:
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 413:
            return error_response(413, "File too large", "file_too_large", str(exc.detail))
        return error_response(exc.status_code, "Request failed", "request_failed", str(exc.detail))

    async def validation_error(_request: Request, exc: Exception) -> Response:
        return error_response(400, "Invalid request", "invalid_parameters", str(exc))

    api.add_exception_handler(StarletteHTTPException, http_error)
    api.add_exception_handler(RequestValidationError, validation_error)
    api.add_middleware(BodyCapMiddleware, limit=_body_limit)
    api.add_api_route("/removebg", removebg, methods=["POST"])
    return api
