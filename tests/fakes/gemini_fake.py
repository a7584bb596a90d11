"""A fake Gemini Developer API speaking the generateContent wire format (google-genai 3.x, v1beta).

`POST /v1beta/models/{model}:generateContent` with `x-goog-api-key`. The answer is a real edit of the
image it was sent (mirrored and tinted, or the masked area filled when a mask image follows), so a
test can tell the result came back through the wire. Queue behaviours with `fake.script(...)`:

- "image": an `inlineData` image part after a text part (the default)
- "text-dataurl" / "text-base64": the image only as base64 inside a text part (data URL / bare run)
- "blocked": `promptFeedback.blockReason`, no candidates
- "image-safety": a candidate with finishReason IMAGE_SAFETY and no image
- "no-image": finishReason STOP with text only
- "429" / "500" / "503": a JSON error with that status

A request with an instruction and no image is text-to-image: the answer is a new picture (a gradient
and a disc in colours taken from the prompt) in the size Gemini's image models give for the
`generationConfig.imageConfig.aspectRatio` asked (1024x1024 for 1:1, 1344x768 for 16:9, …).
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.asgi_server import serve_asgi

API_KEY = "gemini-test-key"
# Output sizes of Gemini's image models per aspect ratio (ai.google.dev image generation docs).
ASPECT_SIZES = {"1:1": (1024, 1024), "4:3": (1184, 864), "3:4": (864, 1184), "16:9": (1344, 768), "9:16": (768, 1344)}
_ERRORS = {
    429: ("Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
    500: ("An internal error has occurred.", "INTERNAL"),
    503: ("The model is overloaded. Please try again later.", "UNAVAILABLE"),
}


def b64decode_any(data_b64: str) -> bytes:
    """Standard or URL-safe base64, as protobuf JSON accepts (the SDK sends URL-safe)."""
    return base64.b64decode(data_b64.replace("-", "+").replace("_", "/"))


def _decode(data_b64: str) -> np.ndarray:
    with Image.open(io.BytesIO(b64decode_any(data_b64))) as img:
        img.load()
        return np.asarray(img.convert("RGBA" if "A" in img.getbands() else "RGB"))


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def edit_image(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """What the fake 'model' does: fill the mask with the mean colour, or mirror and warm the photo."""
    rgb = image[..., :3].astype(np.float32)
    if mask is not None:
        m = mask[..., 0] > 127 if mask.ndim == 3 else mask > 127
        if m.shape != rgb.shape[:2]:
            m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize(rgb.shape[1::-1])) > 127
        out = rgb.copy()
        out[m] = rgb[~m].mean(axis=0) if (~m).any() else 128
        return out.astype(np.uint8)
    out = rgb[:, ::-1].copy()
    out[..., 0] = np.clip(out[..., 0] * 1.1 + 10, 0, 255)
    return out.astype(np.uint8)


def create_image(prompt: str, width: int, height: int) -> np.ndarray:
    """What the fake 'model' draws from nothing: a vertical gradient and a disc, coloured by the prompt."""
    digest = hashlib.sha256(prompt.encode()).digest()
    top, bottom, disc = (np.frombuffer(digest[i : i + 3], np.uint8).astype(np.float32) for i in (0, 3, 6))
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    out = np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).copy()
    yy, xx = np.mgrid[0:height, 0:width]
    out[(xx - width / 2) ** 2 + (yy - height / 2) ** 2 < (min(width, height) / 4) ** 2] = disc
    return out.astype(np.uint8)


@dataclass
class GeminiFake:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0  # every request, including refused ones
    _script: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *behaviours: str) -> None:
        """Behaviours for the next requests, in order; afterwards "image"."""
        with self._lock:
            self._script.extend(behaviours)

    def _next(self) -> str:
        with self._lock:
            return self._script.pop(0) if self._script else "image"

    async def generate(self, request: Request) -> JSONResponse:
        self.calls += 1
        model = request.path_params["model_action"]
        if not model.endswith(":generateContent"):
            return _error(404, "Method not found.", "NOT_FOUND")
        if request.headers.get("x-goog-api-key") != API_KEY:
            return _error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
        body = await request.json()
        self.requests.append({"model": model.removesuffix(":generateContent"), "body": body})
        images: list[np.ndarray] = []
        texts: list[str] = []
        for content in body.get("contents", []):
            for part in content.get("parts", []):
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    mime = inline.get("mimeType") or inline.get("mime_type") or ""
                    if not mime.startswith("image/"):
                        return _error(400, f"Unsupported MIME type: {mime}", "INVALID_ARGUMENT")
                    images.append(_decode(inline["data"]))
                elif "text" in part:
                    texts.append(part["text"])
        if not texts:
            return _error(400, "An instruction is required.", "INVALID_ARGUMENT")
        aspect = ((body.get("generationConfig") or {}).get("imageConfig") or {}).get("aspectRatio") or "1:1"
        if aspect not in ASPECT_SIZES:
            return _error(400, f"Unsupported aspect ratio: {aspect}", "INVALID_ARGUMENT")
        behaviour = self._next()
        if behaviour.isdigit():
            code = int(behaviour)
            message, status = _ERRORS[code]
            return _error(code, message, status)
        if behaviour == "blocked":
            return JSONResponse({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": model})
        if behaviour in {"image-safety", "no-image"}:
            reason = "IMAGE_SAFETY" if behaviour == "image-safety" else "STOP"
            text = "I can't help with that image." if behaviour == "image-safety" else "Here is a description instead."
            return JSONResponse(_candidate([{"text": text}], reason))
        if images:
            result = _png(edit_image(images[0], images[1] if len(images) > 1 else None))
        else:
            result = _png(create_image(" ".join(texts), *ASPECT_SIZES[aspect]))
        data = base64.b64encode(result).decode()
        if behaviour == "text-dataurl":
            parts: list[dict[str, Any]] = [{"text": f"Here you go: data:image/png;base64,{data}"}]
        elif behaviour == "text-base64":
            parts = [{"text": f"Edited image (base64):\n{data}\n"}]
        else:
            parts = [{"text": "Here is the edited image."}, {"inlineData": {"mimeType": "image/png", "data": data}}]
        return JSONResponse(_candidate(parts, "STOP"))


def _candidate(parts: list[dict[str, Any]], finish_reason: str) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish_reason, "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 1290, "totalTokenCount": 1300},
        "modelVersion": "fake",
        "responseId": "fake-response",
    }


def _error(code: int, message: str, status: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "status": status}}, status_code=code)


@contextmanager
def run_gemini_fake() -> Iterator[GeminiFake]:
    fake = GeminiFake()
    app = Starlette(routes=[Route("/v1beta/models/{model_action:str}", fake.generate, methods=["POST"])])
    with serve_asgi(app) as base_url:
        fake.base_url = base_url
        yield fake
