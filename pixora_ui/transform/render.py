"""Apply a parsed transformation to a stored photo (blocking: run it in a worker thread).

Memory stays bounded for large photos: when the first step shrinks a JPEG, it is decoded at 1/2, 1/4
or 1/8 of its size straight away (libjpeg's DCT scaling), so a `w-400` of a 49 MP photo never holds
the full-size pixels. Other sources are decoded once at full size.

Within a step the order is: size and crop (w, h, ar, dpr, c, cm, fo, x, y, bg for padding), flip,
rotation, blur, grayscale, contrast, sharpen, and last `bg` behind any transparency.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np
from PIL import Image

from pixora_ui.engine.ops import imageio
from pixora_ui.engine.ops.imageio import ImageArray
from pixora_ui.transform.syntax import Plan, Step

Encoding = Literal["jpeg", "png", "webp"]
DEFAULT_QUALITY = 80
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
_MIME: dict[str, Encoding] = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    data: bytes
    mime: str
    width: int
    height: int
    max_pixels: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Rendered:
    data: bytes
    mime: str
    width: int
    height: int


# --- geometry ----------------------------------------------------------------------------------------


def _dimension(value: float | None, reference: int, dpr: float) -> float | None:
    if value is None:
        return None
    return (value * reference if value < 1 else value) * dpr


def target(step: Step, width: int, height: int) -> tuple[float | None, float | None]:
    """The requested width and height in pixels (either may be None), after fractions, ar and dpr."""
    dpr = step.dpr or 1.0
    w = _dimension(step.w, width, dpr)
    h = _dimension(step.h, height, dpr)
    if step.ar is not None:
        if w is not None:
            h = w * step.ar[1] / step.ar[0]
        elif h is not None:
            w = h * step.ar[0] / step.ar[1]
    return w, h


def _px(value: float) -> int:
    return max(1, round(value))


def scale_for(step: Step, width: int, height: int) -> float:
    """How much the step scales its input (1.0 when it only cuts or pads at the original scale)."""
    if not step.resizes or step.cm in {"extract", "pad_extract"}:
        return 1.0
    w, h = target(step, width, height)
    sx = None if w is None else w / width
    sy = None if h is None else h / height
    given = [s for s in (sx, sy) if s is not None]
    if step.c == "force":
        return max(given)
    if step.cm == "pad_resize" or step.c in {"at_max", "at_max_enlarge"}:
        scale = min(given)
        return min(scale, 1.0) if step.c == "at_max" else scale
    return max(given)  # maintain_ratio (cover) and at_least


def output_size(step: Step, width: int, height: int) -> tuple[int, int]:
    """The size a step produces from width x height (what the tests and the renderer agree on)."""
    if not step.resizes:
        size = (width, height)
    else:
        w, h = target(step, width, height)
        scale = scale_for(step, width, height)
        if step.cm == "extract":
            size = (min(_px(w or width), width), min(_px(h or height), height))
        elif step.cm in {"pad_extract", "pad_resize"} or step.c == "force":
            size = (_px(w if w is not None else width * scale), _px(h if h is not None else height * scale))
        elif step.c in {"at_max", "at_max_enlarge", "at_least"} or w is None or h is None:
            size = (_px(width * scale), _px(height * scale))
        else:
            size = (_px(w), _px(h))
    if step.rt in {90, 270}:
        return size[1], size[0]
    return size


# --- pixels ------------------------------------------------------------------------------------------


def _resize(pixels: ImageArray, size: tuple[int, int]) -> ImageArray:
    h, w = pixels.shape[:2]
    if (w, h) == size:
        return pixels
    if size[0] < w and size[1] < h:
        factor = min(w // max(1, size[0]), h // max(1, size[1]))
        if factor >= 2:  # a whole-factor area shrink first is several times cheaper
            pixels = np.asarray(
                cv2.resize(pixels, (w // factor, h // factor), interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_LANCZOS4), dtype=np.uint8)


def _rgba(hex_colour: str | None, channels: int) -> tuple[int, ...]:
    value = hex_colour if hex_colour and hex_colour != "blurred" else "FFFFFF"
    rgb = tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))
    alpha = int(value[6:8], 16) if len(value) == 8 else 255
    return (*rgb, alpha) if channels == 4 else rgb


def _anchor(focus: str | None, free_x: int, free_y: int) -> tuple[int, int]:
    name = focus or "center"
    x = 0 if "left" in name else free_x if "right" in name else free_x // 2
    y = 0 if name.startswith("top") else free_y if name.startswith("bottom") else free_y // 2
    return x, y


def _box(pixels: ImageArray, focus: str | None, box_w: int, box_h: int) -> tuple[int, int]:
    """Where a box_w x box_h window starts inside the image for the focus (auto and face look)."""
    h, w = pixels.shape[:2]
    if focus in {"auto", "face"} and (box_w < w or box_h < h):
        from pixora_ui.engine.models import faces  # noqa: PLC0415 - kept out of the web server's start
        from pixora_ui.engine.tools import crop  # noqa: PLC0415 - kept out of the web server's start

        rgb = np.ascontiguousarray(pixels[:, :, :3])
        if focus == "face" and faces.availability()[0]:
            found = faces.detect_faces(rgb)
            if found:
                x, y, _bw, _bh = crop.face_box(rgb, found, box_w, box_h)
                return x, y
        x, y, _bw, _bh = crop.subject_box(rgb, box_w, box_h)
        return x, y
    return _anchor(focus, w - box_w, h - box_h)


def _pad(pixels: ImageArray, size: tuple[int, int], step: Step, blurred_from: ImageArray | None) -> ImageArray:
    h, w = pixels.shape[:2]
    colour = _rgba(step.bg, 4)
    channels = 4 if pixels.shape[2] == 4 or colour[3] < 255 else 3
    if blurred_from is not None:
        cover = _cover(blurred_from, size, "center")
        canvas = np.asarray(cv2.GaussianBlur(cover, (0, 0), sigmaX=max(size) / 30), dtype=np.uint8)
        if channels == 4 and canvas.shape[2] == 3:
            canvas = np.dstack([canvas, np.full(canvas.shape[:2], 255, np.uint8)])
    else:
        canvas = np.empty((size[1], size[0], channels), dtype=np.uint8)
        canvas[:] = np.asarray(colour[:channels], dtype=np.uint8)
    if pixels.shape[2] != channels:
        pixels = np.dstack([pixels, np.full((h, w), 255, np.uint8)])
    x, y = _anchor(step.fo if step.fo not in {"auto", "face"} else None, size[0] - w, size[1] - h)
    canvas[y : y + h, x : x + w] = pixels
    return canvas


def _cover(pixels: ImageArray, size: tuple[int, int], focus: str | None) -> ImageArray:
    h, w = pixels.shape[:2]
    scale = max(size[0] / w, size[1] / h)
    scaled = _resize(pixels, (max(size[0], _px(w * scale)), max(size[1], _px(h * scale))))
    x, y = _box(scaled, focus, size[0], size[1])
    return np.ascontiguousarray(scaled[y : y + size[1], x : x + size[0]])


def _geometry(pixels: ImageArray, step: Step, logical: tuple[int, int]) -> ImageArray:
    """Resize and crop; `logical` is the input size the step's numbers refer to (the photo's own,
    even when it was decoded at a reduced size)."""
    if not step.resizes:
        return pixels
    width, height = logical
    out_w, out_h = output_size(replace_rotation(step), width, height)
    if step.cm in {"extract", "pad_extract"}:
        actual_h, actual_w = pixels.shape[:2]
        box_w, box_h = min(out_w, actual_w), min(out_h, actual_h)
        if step.x is not None or step.y is not None:
            x = min(step.x or 0, actual_w - box_w)
            y = min(step.y or 0, actual_h - box_h)
        else:
            x, y = _box(pixels, step.fo, box_w, box_h)
        cut = np.ascontiguousarray(pixels[y : y + box_h, x : x + box_w])
        if step.cm == "pad_extract" and (box_w, box_h) != (out_w, out_h):
            return _pad(cut, (out_w, out_h), step, None)
        return cut
    if step.cm == "pad_resize":
        scale = scale_for(step, width, height)
        fitted = _resize(pixels, (min(out_w, _px(width * scale)), min(out_h, _px(height * scale))))
        return _pad(fitted, (out_w, out_h), step, pixels if step.bg == "blurred" else None)
    w, h = target(step, width, height)
    if step.c is None and w is not None and h is not None:
        return _cover(pixels, (out_w, out_h), step.fo)
    return _resize(pixels, (out_w, out_h))


def replace_rotation(step: Step) -> Step:
    return replace(step, rt=None) if step.rt else step


def _rotate(pixels: ImageArray, degrees: int, bg: str | None) -> ImageArray:
    if degrees == 90:
        return np.ascontiguousarray(np.rot90(pixels, -1))
    if degrees == 180:
        return np.ascontiguousarray(pixels[::-1, ::-1])
    if degrees == 270:
        return np.ascontiguousarray(np.rot90(pixels, 1))
    has_alpha = pixels.shape[2] == 4
    fill = _rgba(bg, 4) if bg else (0, 0, 0, 0)
    image = Image.fromarray(pixels if has_alpha else np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)]))
    turned = image.rotate(-degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    out = np.asarray(turned, dtype=np.uint8)
    return out if has_alpha or fill[3] < 255 else np.ascontiguousarray(out[:, :, :3])


def _contrast(pixels: ImageArray) -> ImageArray:
    """Stretch each colour channel so its 1st..99th percentiles fill 0..255."""
    out = pixels.copy()
    for channel in range(3):
        hist = cv2.calcHist([pixels], [channel], None, [256], [0, 256]).ravel()
        cumulative = np.cumsum(hist) / max(1.0, float(hist.sum()))
        low = int(np.searchsorted(cumulative, 0.01))
        high = int(np.searchsorted(cumulative, 0.99))
        if high <= low:
            continue
        lut = np.clip((np.arange(256, dtype=np.float32) - low) * 255.0 / (high - low), 0, 255).astype(np.uint8)
        out[:, :, channel] = cv2.LUT(np.ascontiguousarray(pixels[:, :, channel]), lut)
    return out


def _look(pixels: ImageArray, step: Step) -> ImageArray:
    if step.fl in {"h", "h_v"}:
        pixels = pixels[:, ::-1]
    if step.fl in {"v", "h_v"}:
        pixels = pixels[::-1]
    pixels = np.ascontiguousarray(pixels)
    if step.rt:
        pixels = _rotate(pixels, step.rt, step.bg)
    if step.bl:
        pixels = np.asarray(cv2.GaussianBlur(pixels, (0, 0), sigmaX=step.bl / 2), dtype=np.uint8)
    if step.grayscale:
        grey = cv2.cvtColor(np.ascontiguousarray(pixels[:, :, :3]), cv2.COLOR_RGB2GRAY)
        rgb = np.repeat(np.asarray(grey, dtype=np.uint8)[:, :, None], 3, axis=2)
        pixels = np.asarray(np.dstack([rgb, pixels[:, :, 3]]) if pixels.shape[2] == 4 else rgb, dtype=np.uint8)
    if step.contrast:
        pixels = _contrast(pixels)
    if step.sharpen:
        amount = step.sharpen / 50
        soft = cv2.GaussianBlur(pixels, (0, 0), sigmaX=1.0)
        pixels = np.asarray(cv2.addWeighted(pixels, 1 + amount, soft, -amount, 0), dtype=np.uint8)
    if step.bg and step.bg != "blurred" and pixels.shape[2] == 4 and step.cm is None:
        colour = _rgba(step.bg, 4)
        if colour[3] == 255:
            pixels = imageio.flatten(pixels, (colour[0], colour[1], colour[2]))
    return pixels


def apply(pixels: ImageArray, step: Step, logical: tuple[int, int]) -> ImageArray:
    return _look(_geometry(pixels, step, logical), step)


# --- decoding and encoding ---------------------------------------------------------------------------


def reduction(plan: Plan, width: int, height: int) -> int:
    """1, 2, 4 or 8: how much smaller the first step lets a JPEG be decoded."""
    if not plan.steps:
        return 1
    scale = scale_for(plan.steps[0], width, height)
    for factor in (8, 4, 2):
        if 1 / factor >= scale:
            return factor
    return 1


def decode(source: Source, plan: Plan) -> ImageArray:
    factor = reduction(plan, source.width, source.height) if source.mime == "image/jpeg" else 1
    if factor > 1:
        buffer = np.frombuffer(source.data, dtype=np.uint8)
        bgr = cv2.imdecode(buffer, _REDUCED[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
        if bgr is not None and bgr.ndim == 3:
            return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    return imageio.decode(source.data, max_bytes=1 << 31, max_pixels=source.max_pixels).pixels


def choose_encoding(plan: Plan, source_mime: str, *, has_alpha: bool, accepts_webp: bool) -> Encoding:
    if plan.format == "auto":
        return "webp" if accepts_webp else ("png" if has_alpha else "jpeg")
    if plan.format is not None:
        named: dict[str, Encoding] = {"jpg": "jpeg", "png": "png", "webp": "webp"}
        return named[plan.format]
    chosen = _MIME.get(source_mime, "png")
    return "png" if chosen == "jpeg" and has_alpha else chosen


def render(source: Source, plan: Plan, *, accepts_webp: bool, default_quality: int = DEFAULT_QUALITY) -> Rendered:
    """Run the plan's plain steps on the source and encode the result (blocking)."""
    pixels = decode(source, plan)
    logical = (source.width, source.height)
    for step in plan.steps:
        pixels = apply(pixels, step, logical)
        logical = (pixels.shape[1], pixels.shape[0])
    encoding = choose_encoding(plan, source.mime, has_alpha=pixels.shape[2] == 4, accepts_webp=accepts_webp)
    data = imageio.encode(pixels, encoding, plan.quality or default_quality)
    return Rendered(data=data, mime=imageio.FORMAT_MIME[encoding], width=pixels.shape[1], height=pixels.shape[0])
