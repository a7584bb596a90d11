"""remove.bg's request options and the answer's image: parsing `size`, `type`, `format`, `channels`,
`bg_color`, `crop`, `crop_margin` (and refusing what the engine cannot do), then turning the
remove-bg tool's RGBA cut-out into the file remove.bg would send (blocking: run it in a thread).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from pixora_ui.engine.ops import imageio
from pixora_ui.engine.tools.registry import ImageArray
from pixora_ui.errors import PixoraError
from pixora_ui.settings import get_settings

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


class RemoveBgError(PixoraError):
    """Answered in remove.bg's own error shape (title, code, detail) by the /api/v1.0 app."""

    def __init__(self, status: int, title: str, code: str, detail: str = "", headers: dict[str, str] | None = None):
        super().__init__(title, status, code)
        self.title = title
        self.detail = detail
        self.headers = headers or {}


def bad_parameter(title: str, detail: str, code: str = "invalid_parameters") -> RemoveBgError:
    return RemoveBgError(400, title, code, detail)


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
    raise bad_parameter(
        "Invalid bg_color", "bg_color must be a hex colour (81d4fa, fff, 81d4fa77) or a colour name (green)."
    )


def _truthy(raw: str) -> bool:
    text = raw.strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off", ""}:
        return False
    raise bad_parameter("Invalid crop", "crop must be true or false.")


def parse_options(fields: dict[str, str]) -> Options:
    size = (fields.get("size") or "preview").strip().lower()
    if size not in SIZES:
        raise bad_parameter("Invalid size", f"size must be one of {', '.join(SIZES)}.")
    kind = (fields.get("type") or "auto").strip().lower()
    if kind not in TYPES:
        raise bad_parameter("Invalid type", f"type must be one of {', '.join(sorted(TYPES))}.")
    fmt = (fields.get("format") or "auto").strip().lower().replace("jpeg", "jpg")
    if fmt not in FORMATS:
        raise bad_parameter("Invalid format", "format must be auto, png, jpg or zip.")
    channels = (fields.get("channels") or "rgba").strip().lower()
    if channels not in {"rgba", "alpha"}:
        raise bad_parameter("Invalid channels", "channels must be rgba or alpha.")
    margin_raw = fields.get("crop_margin") or "0"
    match = _MARGIN.match(margin_raw)
    if match is None:
        raise bad_parameter("Invalid crop_margin", "crop_margin must be pixels (30px) or a share of the subject (10%).")
    amount, unit = float(match.group(1)), match.group(2) or "px"
    if (unit == "%" and amount > 50) or (unit == "px" and amount > 500):
        raise bad_parameter("Invalid crop_margin", "crop_margin is at most 50% or 500px.")
    for name in ("image_url", "bg_image_url"):
        if fields.get(name):
            raise bad_parameter(
                "Unsupported parameter", f"{name} is not supported: this server fetches no URLs. Send the file."
            )
    if (fields.get("roi") or "").strip() not in _DEFAULT_ROI:
        raise bad_parameter("Unsupported parameter", "roi is not supported; leave it out to use the whole image.")
    for name, default in (("scale", "original"), ("position", "original")):
        if (fields.get(name) or default).strip().lower() != default:
            raise bad_parameter("Unsupported parameter", f"{name} is not supported; leave it out.")
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


def _fit(pixels: ImageArray, max_mp: float) -> ImageArray:
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
    from pixora_ui.engine.tools.cutout import subject_box  # noqa: PLC0415 - kept out of the web server's start

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
