"""Small image helpers shared by the remote providers: encode for upload, decode answers, read params."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from pixora_ui.engine.ops.expand import MAX_GROWTH, margins_for
from pixora_ui.engine.tools.registry import ImageArray, ToolError
from pixora_ui.providers.base import ProviderRequest

# Formats both ImageKit and Gemini accept as input as is; anything else is re-encoded as PNG.
PASS_THROUGH_MIME = frozenset({"image/png", "image/jpeg", "image/webp"})


def encode_png(image: ImageArray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", compress_level=3)
    return out.getvalue()


def decode_image(data: bytes) -> ImageArray:
    """Bytes of an answer → RGB or RGBA uint8 array (EXIF orientation applied)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            img = ImageOps.exif_transpose(opened)
            has_alpha = "A" in img.getbands() or (img.mode == "P" and "transparency" in img.info)
            return np.ascontiguousarray(np.asarray(img.convert("RGBA" if has_alpha else "RGB")))
    except Exception as exc:
        raise ToolError("The AI service sent back a file that is not a readable image.") from exc


# Gemini takes at most 20 MB of inline data per request and ImageKit's free plan 25 MB per upload.
MAX_SEND_BYTES = 15 * 1024 * 1024


def _encode_within(image: ImageArray, max_bytes: int) -> tuple[bytes, str]:
    """PNG (alpha) or high-quality JPEG, scaled down until it fits in `max_bytes`."""
    pil = Image.fromarray(image)
    while True:
        out = io.BytesIO()
        if pil.mode == "RGBA":
            pil.save(out, format="PNG", compress_level=6)
            mime = "image/png"
        else:
            pil.save(out, format="JPEG", quality=92)
            mime = "image/jpeg"
        if out.tell() <= max_bytes or min(pil.size) <= 64:
            return out.getvalue(), mime
        scale = (max_bytes / out.tell()) ** 0.5 * 0.9
        pil = pil.resize((max(1, int(pil.width * scale)), max(1, int(pil.height * scale))), Image.Resampling.LANCZOS)


def source_for_upload(request: ProviderRequest, *, max_bytes: int = MAX_SEND_BYTES) -> tuple[bytes, str]:
    """The input as (bytes, mime): the stored file when the service reads its format and it is small
    enough, else a PNG, else (too large) a JPEG or a smaller copy."""
    if request.source_bytes and request.source_mime in PASS_THROUGH_MIME and len(request.source_bytes) <= max_bytes:
        return request.source_bytes, request.source_mime
    png = encode_png(request.image)
    if len(png) <= max_bytes:
        return png, "image/png"
    return _encode_within(request.image, max_bytes)


def prompt_of(params: dict[str, Any]) -> str:
    """The user's instruction, whatever the tool calls it."""
    for key in ("prompt", "instruction", "text", "background_prompt"):
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Canvas:
    """The expanded canvas and where the original sits on it."""

    width: int
    height: int
    left: int
    top: int


def expand_canvas(image: ImageArray, params: dict[str, Any]) -> Canvas:
    """The canvas of the expand tool: margins in percent of the photo per side and/or an aspect ratio,
    computed exactly as the local engine does (so every provider gives the same size)."""
    height, width = image.shape[:2]
    aspect = params.get("aspect") or params.get("ratio")
    top, right, bottom, left = margins_for(
        height,
        width,
        aspect=str(aspect) if aspect else None,
        top=float(params.get("top") or 0),
        right=float(params.get("right") or 0),
        bottom=float(params.get("bottom") or 0),
        left=float(params.get("left") or 0),
    )
    if top + right + bottom + left == 0:
        raise ToolError("Nothing to expand: choose an aspect ratio the photo does not have yet, or a margin.")
    new_w, new_h = width + left + right, height + top + bottom
    if new_w > width * MAX_GROWTH or new_h > height * MAX_GROWTH:
        raise ToolError("That is more than 3 times the photo's size; expand in smaller steps.")
    return Canvas(width=new_w, height=new_h, left=left, top=top)
