"""Expand canvas: add margins or reach an aspect ratio, continuing the existing background.

The new area is filled by the same exemplar engine as magic erase (`inpaint.fill_hole`), one side
at a time, on a band as wide as the new margin next to that side (so a 12 MP photo costs the same
as a small one with the same margin). The subject (ISNet's mask, from the tool) is excluded from
PatchMatch's sources, so only background is continued; a side the subject touches would continue
the subject whatever the source, so it gets a mirrored, blurred extension instead and the note says
so. It does not invent objects: that is what a generative provider is for (INPAINTING.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pixora_ui.engine.models import learned_inpaint
from pixora_ui.engine.ops.inpaint import MaskArray, fill_hole
from pixora_ui.engine.tools.registry import (
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


FILL_MODES = ("content-aware", "blur", "colour", "generative")
_TOUCH_SHARE = 0.02  # a subject covering more of a side's edge than this "touches" it


@dataclass(frozen=True, slots=True)
class Expanded:
    image: ImageArray
    note: str


def _side_regions(ch: int, cw: int, margins: dict[str, int]) -> dict[str, tuple[slice, slice]]:
    """Per new side, the canvas region it fills and the photo band next to it (the patch source)."""
    regions: dict[str, tuple[slice, slice]] = {}
    for name, margin in margins.items():
        band = max(_BAND_MIN, margin)
        if name == "top":
            regions[name] = (slice(0, min(ch, margin + band)), slice(0, cw))
        elif name == "bottom":
            regions[name] = (slice(max(0, ch - margin - band), ch), slice(0, cw))
        elif name == "left":
            regions[name] = (slice(0, ch), slice(0, min(cw, margin + band)))
        else:
            regions[name] = (slice(0, ch), slice(max(0, cw - margin - band), cw))
    return regions


def touched_sides(subject: MaskArray, sides: list[str]) -> list[str]:
    """The sides of the photo whose edge the subject covers (more than 2 % of the edge's length)."""
    edges = {"top": subject[0], "bottom": subject[-1], "left": subject[:, 0], "right": subject[:, -1]}
    return [name for name in sides if float(edges[name].mean()) > _TOUCH_SHARE]


def mirrored_blur(image: ImageArray, t: int, r: int, b: int, l_: int) -> ImageArray:
    """The photo mirrored into the new margins, blurred more and more away from its edge.

    Mirroring keeps colour and light continuous at the seam; the blur (reaching full strength within
    a fifth of the margin) turns the mirrored content into soft background instead of a copy.
    """
    mirrored = np.asarray(cv2.copyMakeBorder(image, t, b, l_, r, cv2.BORDER_REFLECT_101), dtype=np.uint8)
    ch, cw = mirrored.shape[:2]
    margin = max(t, r, b, l_)
    # Blur at <= 512 px: a strong blur of a 12 MP canvas costs seconds, its low-pass almost nothing.
    factor = max(1.0, max(ch, cw) / 512.0)
    small = cv2.resize(mirrored, (max(1, round(cw / factor)), max(1, round(ch / factor))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(1.0, margin / 5.0 / factor))
    blurred = cv2.resize(small, (cw, ch), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    outside = np.ones((ch, cw), dtype=np.uint8)
    outside[t : t + image.shape[0], l_ : l_ + image.shape[1]] = 0
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    weight = np.clip(distance / max(1.0, margin / 5.0), 0.0, 1.0)[:, :, None]
    out = mirrored.astype(np.float32) * (1.0 - weight) + blurred * weight
    return np.asarray(np.clip(out + 0.5, 0, 255), dtype=np.uint8)


def hex_colour(value: str | None) -> tuple[int, int, int] | None:
    """(r, g, b) from "#rrggbb"; None for an empty value."""
    if not value:
        return None
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def _edge_colour(image: ImageArray) -> tuple[int, ...]:
    """The median colour of the photo's outermost pixels (a product shot's backdrop)."""
    ring = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return tuple(int(v) for v in np.median(ring, axis=0))


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def expand(
    image: ImageArray,
    *,
    aspect: str | None = None,
    top: float = 0,
    right: float = 0,
    bottom: float = 0,
    left: float = 0,
    mode: str = "content-aware",
    colour: tuple[int, int, int] | None = None,
    subject: MaskArray | None = None,
    progress: Progress = no_progress,
    cancelled: Cancelled = never_cancelled,
    models_dir: Path | None = None,
) -> Expanded:
    """A larger canvas whose new margins continue the photo's background (RGB or RGBA).

    `mode`: content-aware (PatchMatch from the photo's background, never from `subject`, the
    photo-sized mask of the main subject), blur (mirrored, blurred extension) or colour (a plain
    colour, by default the photo's edge colour). A side the subject touches gets the mirrored, blurred
    extension in content-aware mode too: any exemplar fill there would continue the subject.
    An inpainting model the operator installed fills the sides whose band holds no subject (it cannot be
    told to avoid one); the classical fill is the fallback.
    """
    if mode not in FILL_MODES[:3]:
        raise ExpandError(f"Unknown fill {mode!r}: choose content-aware, blur or colour.")
    height, width = image.shape[:2]
    t, r, b, l_ = margins_for(height, width, aspect=aspect, top=top, right=right, bottom=bottom, left=left)
    if t + r + b + l_ == 0:
        raise ExpandError("Nothing to expand: choose an aspect ratio the photo does not have yet, or a margin.")
    if (height + t + b) > height * MAX_GROWTH or (width + l_ + r) > width * MAX_GROWTH:
        raise ExpandError("That is more than 3 times the photo's size; expand in smaller steps.")
    margins = {name: m for name, m in (("top", t), ("bottom", b), ("left", l_), ("right", r)) if m > 0}
    canvas = np.asarray(cv2.copyMakeBorder(image, t, b, l_, r, cv2.BORDER_REPLICATE), dtype=np.uint8)
    if mode == "colour":
        fill = colour or _edge_colour(image[:, :, :3])
        canvas[:, :, :3] = np.asarray(fill, dtype=np.uint8)
        canvas[t : t + height, l_ : l_ + width] = image
        progress(1.0, "Expanded")
        return Expanded(canvas, "The new area is a plain colour.")
    touched = list(margins) if mode == "blur" else touched_sides(subject, list(margins)) if subject is not None else []
    mirrored: ImageArray | None = None
    rgb = np.ascontiguousarray(canvas[:, :, :3])
    known = np.zeros(canvas.shape[:2], dtype=bool)
    known[t : t + height, l_ : l_ + width] = True
    exclude = np.zeros(canvas.shape[:2], dtype=bool)
    if subject is not None:
        exclude[t : t + height, l_ : l_ + width] = subject
    ch, cw = canvas.shape[:2]
    regions = _side_regions(ch, cw, margins)
    models = models_dir if models_dir is not None else learned_inpaint.default_models_dir()
    use_model = learned_inpaint.available(models)
    used_model = False
    for index, name in enumerate(margins):
        check_cancelled(cancelled)
        progress(index / len(margins), f"Filling the {name} margin")
        ys, xs = regions[name]
        hole = ~known[ys, xs]
        source = ~hole & ~exclude[ys, xs]
        if name not in touched and source.sum() < 0.25 * (~hole).sum():
            touched.append(name)  # the subject fills the band next to this side: no background to continue
        if name in touched:
            if mirrored is None:
                mirrored = mirrored_blur(np.ascontiguousarray(image[:, :, :3]), t, r, b, l_)
            rgb[ys, xs][hole] = mirrored[ys, xs][hole]
        else:
            learned = None
            if use_model and not exclude[ys, xs].any():
                learned = learned_inpaint.fill(np.ascontiguousarray(rgb[ys, xs]), hole, models)
            if learned is not None:
                used_model = True
                rgb[ys, xs] = learned
            else:
                rgb[ys, xs] = fill_hole(rgb[ys, xs], hole, target_hole_px=_TARGET_HOLE_PX, exclude=exclude[ys, xs])
        known[ys, xs] = True
    canvas[:, :, :3] = rgb
    progress(1.0, "Expanded")
    if mode == "blur":
        note = "The new area is a mirrored, blurred extension of the photo."
    elif touched:
        note = (
            f"The subject reaches the {_joined(sorted(touched))} edge, so that side is a mirrored, blurred "
            "extension: continuing the background there would copy the subject. A generative provider can "
            "draw it instead."
        )
    elif used_model:
        note = "The new area was drawn by the inpainting model from the photo's edges."
    elif subject is not None:
        note = "The new area continues the background only (the subject is never copied); it invents nothing new."
    else:
        note = "The new area continues the existing background; it does not invent new objects."
    return Expanded(canvas, note)
