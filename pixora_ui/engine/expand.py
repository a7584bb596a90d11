"""Expand canvas: add margins or reach an aspect ratio, continuing the existing background.

The new area is filled by the same exemplar engine as magic erase (`inpaint.fill_hole`), one side
at a time, on a band as wide as the new margin next to that side (so a 12 MP photo costs the same
as a small one with the same margin). It continues textures and backgrounds; it does not invent
objects, and near objects that touch the edge it can paste fragments: that is what a generative
provider is for (INPAINTING.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from pixora_ui.engine.inpaint import fill_hole
from pixora_ui.engine.registry import (
    Cancelled,
    ImageArray,
    Progress,
    ToolError,
    check_cancelled,
    never_cancelled,
    no_progress,
)

ASPECTS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "4:5": (4, 5),
    "5:4": (5, 4),
    "3:4": (3, 4),
    "4:3": (4, 3),
    "2:3": (2, 3),
    "3:2": (3, 2),
    "16:9": (16, 9),
    "9:16": (9, 16),
}
MAX_GROWTH = 3.0  # the new canvas may be at most 3x the photo on each axis
_BAND_MIN = 48  # px of the photo kept next to a new margin as the source of patches
_TARGET_HOLE_PX = 40_000


class ExpandError(ToolError):
    """The canvas cannot be expanded as asked."""


def margins_for(
    height: int,
    width: int,
    *,
    aspect: str | None = None,
    top: float = 0,
    right: float = 0,
    bottom: float = 0,
    left: float = 0,
) -> tuple[int, int, int, int]:
    """Pixel margins (top, right, bottom, left) from percentages of the photo and an optional aspect."""
    t, b = round(height * top / 100), round(height * bottom / 100)
    l_, r = round(width * left / 100), round(width * right / 100)
    if aspect and aspect != "none":
        if aspect not in ASPECTS:
            raise ExpandError(f"Unknown aspect ratio {aspect}.")
        aw, ah = ASPECTS[aspect]
        h, w = height + t + b, width + l_ + r
        if w * ah > h * aw:  # too wide: add height
            extra = round(w * ah / aw) - h
            t, b = t + extra // 2, b + extra - extra // 2
        else:
            extra = round(h * aw / ah) - w
            l_, r = l_ + extra // 2, r + extra - extra // 2
    return t, r, b, l_


def expand(
    image: ImageArray,
    *,
    aspect: str | None = None,
    top: float = 0,
    right: float = 0,
    bottom: float = 0,
    left: float = 0,
    progress: Progress = no_progress,
    cancelled: Cancelled = never_cancelled,
) -> ImageArray:
    """A larger canvas whose new margins continue the photo's background (RGB or RGBA)."""
    height, width = image.shape[:2]
    t, r, b, l_ = margins_for(height, width, aspect=aspect, top=top, right=right, bottom=bottom, left=left)
    if t + r + b + l_ == 0:
        raise ExpandError("Nothing to expand: choose an aspect ratio the photo does not have yet, or a margin.")
    if (height + t + b) > height * MAX_GROWTH or (width + l_ + r) > width * MAX_GROWTH:
        raise ExpandError("That is more than 3 times the photo's size; expand in smaller steps.")
    canvas = np.asarray(cv2.copyMakeBorder(image, t, b, l_, r, cv2.BORDER_REPLICATE), dtype=np.uint8)
    rgb = np.ascontiguousarray(canvas[:, :, :3])
    known = np.zeros(canvas.shape[:2], dtype=bool)
    known[t : t + height, l_ : l_ + width] = True
    sides = [(name, m) for name, m in (("top", t), ("bottom", b), ("left", l_), ("right", r)) if m > 0]
    ch, cw = canvas.shape[:2]
    for index, (name, margin) in enumerate(sides):
        check_cancelled(cancelled)
        progress(index / len(sides), f"Filling the {name} margin")
        band = max(_BAND_MIN, margin)
        if name == "top":
            ys, xs = slice(0, min(ch, margin + band)), slice(0, cw)
        elif name == "bottom":
            ys, xs = slice(max(0, ch - margin - band), ch), slice(0, cw)
        elif name == "left":
            ys, xs = slice(0, ch), slice(0, min(cw, margin + band))
        else:
            ys, xs = slice(0, ch), slice(max(0, cw - margin - band), cw)
        hole = ~known[ys, xs]
        if hole.all():
            raise ExpandError("The photo is too small to expand from.")
        rgb[ys, xs] = fill_hole(rgb[ys, xs], hole, target_hole_px=_TARGET_HOLE_PX)
        known[ys, xs] = True
    canvas[:, :, :3] = rgb
    progress(1.0, "Expanded")
    return canvas
