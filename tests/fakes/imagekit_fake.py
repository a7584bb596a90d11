"""A fake ImageKit: upload API, file delete, and a delivery endpoint that runs URL transformations.

Wire format as the imagekitio 5.x SDK speaks it with `base_url` overridden:
- `POST /api/v1/files/upload` (multipart): HTTP Basic `private_key:` (server side) or the client-side
  fields `publicKey`, `signature`, `expire`, `token` (signature = hmac-sha1(private_key, token+expire),
  expire in the future and under an hour ahead, each token used once).
- `DELETE /v1/files/{fileId}` with Basic auth → 204.
- `GET /demo/<filePath>?tr=…[&ik-t=…]&ik-s=…` — the URL endpoint is `<base>/demo`. Private files need a
  valid URL signature. A chain with an AI step answers "being prepared" (HTML, 200,
  `is-intermediate-response: true`) `prepare_count` times, then the image, really transformed here:
  `e-bgremove` uses Pixora's local remove-bg tool when its model is installed. `fail_ops` turns an
  operation into an `ik-error` failure.
- `GET /demo/ik-genimg-prompte-<b64>/<path>.jpg?tr=…` (text-to-image, path form only): draws a new
  picture (1024x1024, a gradient and a disc coloured by the prompt), "being prepared" first like any AI
  operation, then the chain's resize; `fail_ops["genimg"]` refuses it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import numpy as np
from PIL import Image, ImageFilter, ImageOps
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from pixora_ui.engine.tools import catalog  # looked up at call time: tests swap catalog.get_registry
from pixora_ui.engine.tools.registry import never_cancelled, no_progress
from tests.fakes.asgi_server import serve_asgi
from tests.fakes.gemini_fake import create_image

PRIVATE_KEY = "private_test_ik_key"
PUBLIC_KEY = "public_test_ik_key"
ENDPOINT_ID = "demo"
AI_OPS = {"bgremove", "removedotbg", "changebg", "edit", "upscale", "retouch", "genvar", "dropshadow", "genfill"}
GENIMG = re.compile(r"^/ik-genimg-(prompte?-[^/]+)(/.+)$")
PREPARING_HTML = "<html><body><h1>The asset is currently being prepared</h1></body></html>"


@dataclass
class StoredFile:
    file_id: str
    name: str
    file_path: str
    data: bytes
    private: bool
    tags: list[str]
    width: int
    height: int


@dataclass
class ImageKitFake:
    base_url: str = ""
    prepare_count: int = 2  # "being prepared" answers before the result, per URL
    fail_ops: dict[str, str] = field(default_factory=dict)  # op → ik-error text
    files: dict[str, StoredFile] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)  # form fields of each accepted upload
    deliveries: list[tuple[str, int, bool]] = field(default_factory=list)  # (tr, status, intermediate)
    generated: list[str] = field(default_factory=list)  # prompts of text-to-image requests served
    _seen: dict[str, int] = field(default_factory=dict)
    _tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url_endpoint(self) -> str:
        return f"{self.base_url}/{ENDPOINT_ID}"

    def by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    # --- upload API -------------------------------------------------------------------------
    def _check_auth(self, request: Request, form: Any) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            if user != PRIVATE_KEY:
                return _message(401, "Your account cannot be authenticated.")
            return None
        fields = {k: form.get(k) for k in ("publicKey", "signature", "expire", "token")}
        if not all(isinstance(v, str) and v for v in fields.values()):
            return _message(403, "Your request does not contain private API key or upload signature.")
        if fields["publicKey"] != PUBLIC_KEY:
            return _message(403, "Your account cannot be authenticated.")
        expire = int(str(fields["expire"]))
        now = int(time.time())
        if expire < now or expire > now + 3600:
            return _message(400, "The expire parameter must be a Unix time in less than 1 hour into the future.")
        expected = hmac.new(PRIVATE_KEY.encode(), f"{fields['token']}{expire}".encode(), hashlib.sha1).hexdigest()
        if not hmac.compare_digest(expected, str(fields["signature"])):
            return _message(400, "Invalid signature.")
        with self._lock:
            if fields["token"] in self._tokens:
                return _message(400, "The token parameter has been used before.")
            self._tokens.add(str(fields["token"]))
        return None

    async def upload(self, request: Request) -> JSONResponse:
        form = await request.form()
        denied = self._check_auth(request, form)
        if denied is not None:
            return denied
        upload = form.get("file")
        name = form.get("fileName")
        if not isinstance(upload, UploadFile) or not isinstance(name, str) or not name:
            return _message(400, "Missing file or fileName parameter.")
        data = await upload.read()
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
        except Exception:
            return _message(400, "The file is not a supported image.")
        folder = str(form.get("folder") or "/").strip("/")
        if str(form.get("useUniqueFileName", "true")) == "true":
            stem, dot, ext = name.rpartition(".")
            name = f"{stem or ext}_{uuid.uuid4().hex[:8]}{dot}{ext if stem else ''}"
        file_path = f"/{folder}/{name}" if folder else f"/{name}"
        existing = self.by_path(file_path)
        # A fixed name replaces the file at that path (a new version of the same file id).
        file_id = existing.file_id if existing else uuid.uuid4().hex[:24]
        private = str(form.get("isPrivateFile", "false")) == "true"
        tags = [t for t in str(form.get("tags") or "").split(",") if t]
        stored = StoredFile(file_id, name, file_path, data, private, tags, width, height)
        with self._lock:
            self.files[file_id] = stored
            self.uploads.append({k: v for k, v in form.multi_items() if isinstance(v, str)})
        url = f"{self.url_endpoint}{file_path}"
        return JSONResponse(
            {
                "fileId": file_id,
                "name": name,
                "size": len(data),
                "versionInfo": {"id": file_id, "name": "Version 1"},
                "filePath": file_path,
                "url": url,
                "fileType": "image",
                "height": height,
                "width": width,
                "thumbnailUrl": f"{self.url_endpoint}/tr:n-ik_ml_thumbnail{file_path}",
                "AITags": None,
                "isPrivateFile": private,
                "tags": tags or None,
            }
        )

    async def delete(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic ") or base64.b64decode(header[6:]).decode().split(":")[0] != PRIVATE_KEY:
            return _message(401, "Your account cannot be authenticated.")
        file_id = request.path_params["file_id"]
        with self._lock:
            if self.files.pop(file_id, None) is None:
                return _message(404, "The requested file does not exist.")
            self.deleted.append(file_id)
        return Response(status_code=204)

    # --- delivery ---------------------------------------------------------------------------
    async def deliver(self, request: Request) -> Response:
        raw_path = request.scope["raw_path"].decode()
        raw_query = request.scope["query_string"].decode()
        path = unquote(raw_path.removeprefix(f"/{ENDPOINT_ID}"))
        tr = ""
        if path.startswith("/tr:"):
            tr, _, rest = path[4:].partition("/")
            path = "/" + rest
        query = dict(p.split("=", 1) for p in raw_query.split("&") if "=" in p)
        tr = tr or unquote(query.get("tr", ""))
        genimg = GENIMG.match(path)
        if genimg is not None:
            return await self._generate(raw_path, raw_query, query, tr=tr, prompt_arg=genimg.group(1))
        stored = self.by_path(path)
        if stored is None:
            return _ik_error(404, "FILE_NOT_FOUND - The requested asset does not exist.")
        if stored.private or "ik-s" in query:
            problem = self._check_url_signature(raw_path, raw_query, query)
            if problem:
                return _ik_error(401, problem)
        steps = [step.split(",") for step in tr.split(":") if step] if tr else []
        if all(p == "orig-true" for step in steps for p in step):
            self.deliveries.append((tr, 200, False))
            with Image.open(io.BytesIO(stored.data)) as probe:
                mime = Image.MIME.get(probe.format or "", "application/octet-stream")
            return Response(stored.data, media_type=mime)
        ops = {_op_name(p) for step in steps for p in step}
        if any(o in AI_OPS for o in ops):
            key = f"{path}?{tr}"
            with self._lock:
                seen = self._seen.get(key, 0)
                self._seen[key] = seen + 1
            if seen < self.prepare_count:
                self.deliveries.append((tr, 200, True))
                return HTMLResponse(PREPARING_HTML, headers={"is-intermediate-response": "true"})
        for op, message in self.fail_ops.items():
            if op in ops:
                self.deliveries.append((tr, 400, False))
                return _ik_error(400, f"TRANSFORMATION_FAILED - {message}")
        try:
            result = await asyncio.to_thread(apply_chain, stored.data, steps)
        except TransformError as exc:
            self.deliveries.append((tr, 400, False))
            return _ik_error(400, str(exc))
        self.deliveries.append((tr, 200, False))
        return Response(result, media_type="image/png")

    async def _generate(
        self, raw_path: str, raw_query: str, query: dict[str, str], *, tr: str, prompt_arg: str
    ) -> Response:
        if "ik-s" in query:
            problem = self._check_url_signature(raw_path, raw_query, query)
            if problem:
                return _ik_error(401, problem)
        key = f"{raw_path}?{tr}"
        with self._lock:
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
        if seen < self.prepare_count:
            self.deliveries.append((f"genimg:{tr}", 200, True))
            return HTMLResponse(PREPARING_HTML, headers={"is-intermediate-response": "true"})
        if "genimg" in self.fail_ops:
            self.deliveries.append((f"genimg:{tr}", 400, False))
            return _ik_error(400, f"TRANSFORMATION_FAILED - {self.fail_ops['genimg']}")
        try:
            prompt = _prompt(prompt_arg)
        except TransformError as exc:
            return _ik_error(400, str(exc))
        self.generated.append(prompt)

        drawn = io.BytesIO()
        Image.fromarray(create_image(prompt, 1024, 1024)).save(drawn, format="PNG")
        steps = [step.split(",") for step in tr.split(":") if step] if tr else []
        try:
            result = await asyncio.to_thread(apply_chain, drawn.getvalue(), steps)
        except TransformError as exc:
            return _ik_error(400, str(exc))
        self.deliveries.append((f"genimg:{tr}", 200, False))
        return Response(result, media_type="image/png")

    def _check_url_signature(self, raw_path: str, raw_query: str, query: dict[str, str]) -> str:
        signature = query.get("ik-s", "")
        expiry = query.get("ik-t", "9999999999")
        if not signature:
            return "SIGNATURE_REQUIRED - This asset is private; the URL must be signed."
        if int(expiry) < time.time():
            return "URL_EXPIRED - The signed URL has expired."
        unsigned_query = re.sub(r"&?ik-t=\d+", "", re.sub(r"&?ik-s=[0-9a-f]+", "", raw_query))
        relative = raw_path.removeprefix(f"/{ENDPOINT_ID}/") + (f"?{unsigned_query}" if unsigned_query else "")
        expected = hmac.new(PRIVATE_KEY.encode(), f"{relative}{expiry}".encode(), hashlib.sha1).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "INVALID_SIGNATURE - The URL signature does not match."
        return ""


class TransformError(Exception):
    pass


def _message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "help": "For support kindly contact us at support@imagekit.io ."}, status)


def _ik_error(status: int, text: str) -> Response:
    return Response(f"<html><body>{text}</body></html>", status, {"ik-error": text}, media_type="text/html")


def _op_name(param: str) -> str:
    if param.startswith("e-"):
        return param[2:].split("-", 1)[0]
    if param.startswith("bg-genfill"):
        return "genfill"
    return param.split("-", 1)[0]


def _prompt(arg: str) -> str:
    kind, _, value = arg.partition("-")
    if kind == "prompte":
        return base64.b64decode(unquote(value)).decode()
    if kind == "prompt":
        return unquote(value)
    raise TransformError(f"INVALID_PARAMETER - Unknown prompt form {kind!r}")


def _colour_for(text: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(text.encode()).digest()
    return digest[0], digest[1], digest[2]


def _remove_background(image: Image.Image) -> Image.Image:
    """The local engine's remove-bg when its model is installed, else a border-colour key."""
    rgb = np.asarray(image.convert("RGB"))
    try:
        registry = catalog.get_registry()
        if "remove-bg" in registry:
            tool = registry.get("remove-bg")
            # Only the engine's own tool (tests may swap the registry for stand-ins).
            if tool.run.__module__.startswith("pixora_ui.engine") and tool.availability()[0]:
                result = tool.run(rgb, tool.validate({}), no_progress, never_cancelled)
                return Image.fromarray(result.image).convert("RGBA")
    except ImportError:
        pass
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float32)
    distance = np.linalg.norm(rgb.astype(np.float32) - np.median(border, axis=0), axis=2)
    alpha = np.clip((distance - 30) * 4, 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]))


def _focus_box(image: Image.Image, ratio: float) -> tuple[int, int, int, int]:
    """The largest box of `ratio` centred on the image's centre of detail (fo-auto / fo-face)."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    gy, gx = np.gradient(grey)
    weight = np.hypot(gx, gy) + 1e-3
    cy = float((weight.sum(axis=1) * np.arange(grey.shape[0])).sum() / weight.sum())
    cx = float((weight.sum(axis=0) * np.arange(grey.shape[1])).sum() / weight.sum())
    w, h = image.size
    bw, bh = (w, round(w / ratio)) if w / h < ratio else (round(h * ratio), h)
    left = int(min(max(cx - bw / 2, 0), w - bw))
    top = int(min(max(cy - bh / 2, 0), h - bh))
    return left, top, left + bw, top + bh


def _apply_effect(img: Image.Image, name: str, arg: str) -> Image.Image:
    if name in {"bgremove", "removedotbg"}:
        return _remove_background(img)
    if name == "changebg":
        cut = _remove_background(img)
        background = Image.new("RGBA", cut.size, (*_colour_for(_prompt(arg)), 255))
        return Image.alpha_composite(background, cut).convert("RGB")
    if name == "edit":
        tint = np.array(_colour_for(_prompt(arg)), dtype=np.float32) / 255
        rgb = np.asarray(img.convert("RGB"), dtype=np.float32)
        return Image.fromarray((rgb * 0.7 + tint * 255 * 0.3).astype(np.uint8))
    if name == "upscale":
        if img.width * img.height > 16_000_000:
            raise TransformError("INPUT_TOO_LARGE - e-upscale supports images up to 16 megapixels.")
        return img.resize((img.width * 2, img.height * 2), Image.Resampling.LANCZOS)
    if name == "retouch":
        return img.filter(ImageFilter.SMOOTH_MORE)
    if name == "dropshadow":
        if img.mode != "RGBA":
            return img
        alpha = img.getchannel("A")
        shadow = Image.new("RGBA", img.size, (0, 0, 0, 0))
        shadow.putalpha(alpha.point(lambda a: a * 6 // 10).filter(ImageFilter.GaussianBlur(6)))
        canvas = Image.new("RGBA", img.size, (0, 0, 0, 0))
        canvas.paste(shadow, (8, 8), shadow)
        return Image.alpha_composite(canvas, img)
    raise TransformError(f"INVALID_TRANSFORMATION - e-{name} is not supported by this fake.")


def _apply_step(img: Image.Image, step: list[str]) -> Image.Image:
    opts: dict[str, str] = {}
    for param in step:
        if param.startswith("e-"):
            name, _, arg = param[2:].partition("-")
            img = _apply_effect(img, name, arg)
        else:
            key, _, value = param.partition("-")
            opts[key] = value
    w = int(opts["w"]) if "w" in opts else None
    h = int(opts["h"]) if "h" in opts else None
    if w is None and h is None:
        return img
    if opts.get("cm") == "pad_resize":
        if w is None or h is None:
            raise TransformError("INVALID_PARAMETER - cm-pad_resize needs both w and h.")
        fitted = ImageOps.contain(img, (w, h), Image.Resampling.LANCZOS)
        left, top = (w - fitted.width) // 2, (h - fitted.height) // 2
        focus = opts.get("fo", "")
        left = {"left": 0, "right": w - fitted.width}.get(focus, left)
        top = {"top": 0, "bottom": h - fitted.height}.get(focus, top)
        bg = opts.get("bg", "FFFFFF")
        if bg.startswith("genfill"):
            arr = np.asarray(fitted)
            pad = ((top, h - fitted.height - top), (left, w - fitted.width - left)) + ((0, 0),) * (arr.ndim - 2)
            return Image.fromarray(np.pad(arr, pad, mode="reflect" if min(arr.shape[:2]) > 1 else "edge"))
        canvas = Image.new(fitted.mode, (w, h), "#" + bg[:6])
        canvas.paste(fitted, (left, top))
        return canvas
    if w is not None and h is not None and opts.get("c") != "at_max":
        if opts.get("fo"):
            return img.crop(_focus_box(img, w / h)).resize((w, h), Image.Resampling.LANCZOS)
        return ImageOps.fit(img, (w, h), Image.Resampling.LANCZOS)
    if opts.get("c") == "at_max":
        return ImageOps.contain(img, (w or img.width, h or img.height), Image.Resampling.LANCZOS)
    if w is not None:
        return img.resize((w, max(1, round(img.height * w / img.width))), Image.Resampling.LANCZOS)
    assert h is not None
    return img.resize((max(1, round(img.width * h / img.height)), h), Image.Resampling.LANCZOS)


def apply_chain(data: bytes, steps: list[list[str]]) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        img = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
    for step in steps:
        ai = [p for p in step if _op_name(p) in AI_OPS]
        if len(ai) > 1:
            raise TransformError("INVALID_TRANSFORMATION - Only one AI operation is allowed per chain step.")
        img = _apply_step(img, step)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@contextmanager
def run_imagekit_fake() -> Iterator[ImageKitFake]:
    fake = ImageKitFake()
    app = Starlette(
        routes=[
            Route("/api/v1/files/upload", fake.upload, methods=["POST"]),
            Route("/v1/files/{file_id}", fake.delete, methods=["DELETE"]),
            Route(f"/{ENDPOINT_ID}/{{path:path}}", fake.deliver, methods=["GET"]),
        ]
    )
    with serve_asgi(app) as base_url:
        fake.base_url = base_url
        yield fake
