"""Brush masks: strokes painted over a photo in the browser, rasterised into a mask image.

The browser sends each stroke as points in image pixels with a brush size; the eraser takes paint
away. Strokes are validated here (bounded, finite, clamped near the image) because they come
straight from the page.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from pixora_ui.engine.tools.registry import ToolError

MAX_POINTS = 5000  # per stroke: a long, slow stroke stays far below it


class MaskError(ToolError):
    """A stroke or a mask the erase cannot use; the message is safe to show."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Stroke:
    points: tuple[tuple[float, float], ...]
    size: float
    erase: bool = False

    @classmethod
    def from_raw(cls, raw: dict[str, Any], *, width: int, height: int) -> Stroke:
        """Validate a stroke from the browser: bounded number of points, clamped to the image."""
        raw_points = raw.get("points") or []
        if not isinstance(raw_points, list) or not raw_points:
            raise MaskError("Empty brush stroke")
        points: list[tuple[float, float]] = []
        for item in raw_points[:MAX_POINTS]:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise MaskError("Malformed brush stroke")
            x, y = _finite(item[0]), _finite(item[1])
            points.append((min(max(x, -width), 2 * width), min(max(y, -height), 2 * height)))
        size = min(max(_finite(raw.get("size") or 1), 1.0), float(max(width, height)))
        return cls(points=tuple(points), size=size, erase=bool(raw.get("erase")))


def _finite(value: Any) -> float:
    """A coordinate or size from the browser as a finite float; anything else is a MaskError."""
    if isinstance(value, bool):
        raise MaskError("Malformed brush stroke")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise MaskError("Malformed brush stroke") from None
    if not math.isfinite(number):
        raise MaskError("Malformed brush stroke")
    return number


def rasterise_mask(strokes: Sequence[Stroke], *, width: int, height: int) -> Image.Image:
    """An L-mode mask (255 = erase here) the size of the image, painted from the strokes in order."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for stroke in strokes:
        fill = 0 if stroke.erase else 255
        radius = stroke.size / 2
        pts = list(stroke.points)
        if len(pts) > 1:
            draw.line(pts, fill=fill, width=max(1, round(stroke.size)), joint="curve")
        for x, y in (pts[0], pts[-1]) if len(pts) > 1 else pts:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
        # Round joints between segments so fast strokes leave no gaps.
        for x, y in pts[1:-1]:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
    return mask


def mask_png(strokes: Sequence[Stroke], *, width: int, height: int) -> bytes:
    """The rasterised mask as a PNG; MaskError when nothing is left painted."""
    if not any(not s.erase for s in strokes):
        raise MaskError("Paint over what you want to erase first")
    mask = rasterise_mask(strokes, width=width, height=height)
    if mask.getbbox() is None:
        raise MaskError("The mask is empty: paint over what you want to erase")
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()
