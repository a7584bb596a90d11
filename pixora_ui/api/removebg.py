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
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from db.session import session_scope
from pixora_ui.api import auth
from pixora_ui.api.body_cap import BodyCapMiddleware
from pixora_ui.engine.registry import ImageArray, ToolError, ToolUnavailable
from pixora_ui.services import assets, jobs
from pixora_ui.services.assets import AssetNotFound, QuotaExceeded
from pixora_ui.services.jobs import LimitReached
from pixora_ui.settings import get_settings

PREFIX = "/api/v1.0"
TOOL = "remove-bg"
# Output size caps in megapixels, by remove.bg's `size` names (the result is never enlarged).
SIZES: dict[str, float] = {
    "preview": 0.25,
    "small": 0.25,
    "regular": 0.25,
    "medium": 1.5,
    "hd": 4.0,
    "full": 25.0,
    "4k": 25.0,
    "50mp": 50.0,
    "auto": 25.0,
}
TYPES = frozenset({"auto", "person", "product", "car", "animal", "graphic", "transportation", "other"})
FORMATS = frozenset({"auto", "png", "jpg", "zip"})
_MARGIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|%)?\s*$")
_NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "lime": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
    "pink": (255, 192, 203),
    "transparent": (0, 0, 0),
}
_DEFAULT_ROI = {"", "0% 0% 100% 100%"}


class RemoveBgError(Exception):
    def __init__(self, status: int, title: str, code: str, detail: str = "", headers: dict[str, str] | None = None):
        super().__init__(title)
        self.status = status
        self.title = title
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def _bad(title: str, detail: str, code: str = "invalid_parameters") -> RemoveBgError:
    return RemoveBgError(400, title, code, detail)


def error_response(
    status: int, title: str, code: str, detail: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    error: dict[str, str] = {"title": title, "code": code}
    if detail:
        error["detail"] = detail
    return JSONResponse(
        {"errors": [error]}, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Options:
    max_mp: float
    type: str
    format: str
    channels: Literal["rgba", "alpha"]
    bg_color: tuple[int, int, int, int] | None
    crop: bool
    margin: tuple[float, str]  # (amount, "px" | "%")


@dataclass(frozen=True, kw_only=True, slots=True)
class Output:
    data: bytes
    media_type: str
    width: int
    height: int
    foreground: tuple[int, int, int, int]  # left, top, width, height in the output


def parse_colour(raw: str) -> tuple[int, int, int, int]:
    text = raw.strip().lower().removeprefix("#")
    if text in _NAMED_COLOURS:
        r, g, b = _NAMED_COLOURS[text]
        return r, g, b, 0 if text == "transparent" else 255
    if re.fullmatch(r"[0-9a-f]{3}", text):
        text = "".join(c * 2 for c in text)
    if re.fullmatch(r"[0-9a-f]{6}([0-9a-f]{2})?", text):
        alpha = int(text[6:8], 16) if len(text) == 8 else 255
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16), alpha
    raise _bad("Invalid bg_color", "bg_color must be a hex colour (81d4fa, fff, 81d4fa77) or a colour name (green).")


def _truthy(raw: str) -> bool:
    text = raw.strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off", ""}:
        return False
    raise _bad("Invalid crop", "crop must be true or false.")


def parse_options(fields: dict[str, str]) -> Options:
    size = (fields.get("size") or "preview").strip().lower()
    if size not in SIZES:
        raise _bad("Invalid size", f"size must be one of {', '.join(SIZES)}.")
    kind = (fields.get("type") or "auto").strip().lower()
    if kind not in TYPES:
        raise _bad("Invalid type", f"type must be one of {', '.join(sorted(TYPES))}.")
    fmt = (fields.get("format") or "auto").strip().lower().replace("jpeg", "jpg")
    if fmt not in FORMATS:
        raise _bad("Invalid format", "format must be auto, png, jpg or zip.")
    channels = (fields.get("channels") or "rgba").strip().lower()
    if channels not in {"rgba", "alpha"}:
        raise _bad("Invalid channels", "channels must be rgba or alpha.")
    margin_raw = fields.get("crop_margin") or "0"
    match = _MARGIN.match(margin_raw)
    if match is None:
        raise _bad("Invalid crop_margin", "crop_margin must be pixels (30px) or a share of the subject (10%).")
    amount, unit = float(match.group(1)), match.group(2) or "px"
    if (unit == "%" and amount > 50) or (unit == "px" and amount > 500):
        raise _bad("Invalid crop_margin", "crop_margin is at most 50% or 500px.")
    for name in ("image_url", "bg_image_url"):
        if fields.get(name):
            raise _bad("Unsupported parameter", f"{name} is not supported: this server fetches no URLs. Send the file.")
    if (fields.get("roi") or "").strip() not in _DEFAULT_ROI:
        raise _bad("Unsupported parameter", "roi is not supported; leave it out to use the whole image.")
    for name, default in (("scale", "original"), ("position", "original")):
        if (fields.get(name) or default).strip().lower() != default:
            raise _bad("Unsupported parameter", f"{name} is not supported; leave it out.")
    colour = parse_colour(fields["bg_color"]) if fields.get("bg_color") else None
    return Options(
        max_mp=SIZES[size],
        type=kind,
        format=fmt,
        channels="alpha" if channels == "alpha" else "rgba",
        bg_color=colour,
        crop=_truthy(fields.get("crop") or "false"),
        margin=(amount, unit),
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
            raise _bad("Invalid image_file_b64", "image_file_b64 is not valid base64.", "invalid_image") from None


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
            raise _bad("Invalid JSON", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _bad("Invalid JSON", "Send a JSON object.")
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
                        raise _bad("Unsupported parameter", "bg_image_file is not supported; use bg_color.")
                else:
                    fields[key] = value
        finally:
            await form.close()
    else:
        raise _bad("Unsupported content type", "Send multipart/form-data, application/x-www-form-urlencoded or JSON.")
    if data is None and fields.get("image_file_b64"):
        data = await asyncio.to_thread(_decode_b64, fields.pop("image_file_b64"))
    if data is None:
        if fields.get("image_url"):
            raise _bad(
                "Unsupported parameter", "image_url is not supported: this server fetches no URLs. Send the file."
            )
        raise _bad("No image given", "Send the image as image_file or image_file_b64.", "missing_source")
    return fields, data, name


def _fit(pixels: ImageArray, max_mp: float) -> ImageArray:
    import cv2

    h, w = pixels.shape[:2]
    limit = max_mp * 1_000_000
    if w * h <= limit:
        return pixels
    scale = (limit / (w * h)) ** 0.5
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _margin_box(box: tuple[int, int, int, int], margin: tuple[float, str], w: int, h: int) -> tuple[int, int, int, int]:
    x, y, bw, bh = box
    amount, unit = margin
    mx = round(bw * amount / 100) if unit == "%" else round(amount)
    my = round(bh * amount / 100) if unit == "%" else round(amount)
    x0, y0 = max(0, x - mx), max(0, y - my)
    return x0, y0, min(w, x + bw + mx) - x0, min(h, y + bh + my) - y0


def render(cutout: ImageArray, opts: Options) -> Output:
    """The tool's RGBA cut-out as remove.bg would answer it (blocking: run it in a thread)."""
    from pixora_ui.engine import imageio
    from pixora_ui.engine.tools_cutout import subject_box

    rgba = cutout if cutout.shape[2] == 4 else np.dstack([cutout, np.full(cutout.shape[:2], 255, np.uint8)])
    h, w = rgba.shape[:2]
    box = subject_box(rgba[:, :, 3])
    if opts.crop and box is not None:
        x, y, bw, bh = _margin_box(box, opts.margin, w, h)
        rgba = rgba[y : y + bh, x : x + bw]
        box = subject_box(rgba[:, :, 3])
    full_h = rgba.shape[0]
    rgba = np.ascontiguousarray(_fit(rgba, opts.max_mp))
    scale = rgba.shape[0] / full_h
    oh, ow = rgba.shape[:2]
    fg = (0, 0, 0, 0) if box is None else tuple(round(v * scale) for v in box)
    foreground = (int(fg[0]), int(fg[1]), int(fg[2]), int(fg[3]))
    alpha = rgba[:, :, 3]
    if opts.channels == "alpha":
        image: ImageArray = np.ascontiguousarray(np.repeat(alpha[:, :, None], 3, axis=2))
    elif opts.bg_color is not None and opts.bg_color[3] > 0:
        r, g, b, a = opts.bg_color
        flat = imageio.flatten(rgba, (r, g, b))
        image = flat if a == 255 else np.dstack([flat, np.maximum(alpha, a).astype(np.uint8)])
    else:
        image = rgba
    transparent = image.shape[2] == 4 and bool(np.any(image[:, :, 3] < 255))
    fmt = opts.format if opts.format != "auto" else ("png" if transparent else "jpg")
    if fmt == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("color.jpg", imageio.encode(np.ascontiguousarray(image[:, :, :3]), "jpeg", 90))
            archive.writestr(
                "alpha.png", imageio.encode(np.ascontiguousarray(np.repeat(alpha[:, :, None], 3, axis=2)), "png")
            )
        return Output(data=buffer.getvalue(), media_type="application/zip", width=ow, height=oh, foreground=foreground)
    if fmt == "png":
        return Output(
            data=imageio.encode(image, "png"), media_type="image/png", width=ow, height=oh, foreground=foreground
        )
    data = imageio.encode(image, "jpeg", get_settings().jpeg_quality)
    return Output(data=data, media_type="image/jpeg", width=ow, height=oh, foreground=foreground)


async def _run_tool(user_id: int, data: bytes, name: str) -> tuple[ImageArray, int, str]:
    """Upload, run remove-bg as a job and await it: (cut-out pixels, credits charged, upload id)."""
    from pixora_ui.api.photos import image_input_error
    from pixora_ui.engine.imageio import ImageInputError

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
