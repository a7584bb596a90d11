"""Regular patterns (brick courses, tiles, fences): fill a hole by the pattern's own period.

PatchMatch copies small patches and lets each drift; on a brick wall a 150 px hole comes back with
courses that break and slant. A regular pattern repeats itself: some shift d maps the ring around
the hole onto the photo almost exactly. When such a shift exists (its error is a small fraction of
a typical shift's), each hole pixel p takes the pixel p + d, repeated through the hole from the side
where p + d is known, so rows and joints run straight through. Stochastic textures (grass, gravel)
have no such shift and keep the PatchMatch fill.

The error of every shift is computed at once with four correlations (OpenCV's matchTemplate), with
the hole masked out on both sides: sum over ring pixels x with x + d known of |I(x) - I(x + d)|^2.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.ops.segments import ring_around
from pixora_ui.engine.tools.registry import ImageArray

MaskArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]

PERIODIC_RATIO = 0.07  # best shift's error / median shift's error under which the pattern is regular (walls: 0.03-0.05)
_RING = 24  # px of known surroundings compared
_MIN_SHIFT = 16  # px, and a third of the hole: shorter shifts only say that neighbours look alike
# (on smooth photo areas every short shift matches, and copying by it smears the hole's edge inward)
_MIN_OVERLAP = 0.6  # of the ring that must land on known pixels for a shift to count


def _ccorr(image: FloatArray, template: FloatArray) -> FloatArray:
    return np.asarray(cv2.matchTemplate(image, template, cv2.TM_CCORR), dtype=np.float32)


def best_shift(rgb: ImageArray, hole: MaskArray) -> tuple[tuple[int, int], float] | None:
    """The shift (dy, dx) that best maps the ring onto the photo, and its error / the median error."""
    ys, xs = np.nonzero(hole)
    h, w = hole.shape
    y0, y1 = max(0, int(ys.min()) - _RING), min(h, int(ys.max()) + 1 + _RING)
    x0, x1 = max(0, int(xs.min()) - _RING), min(w, int(xs.max()) + 1 + _RING)
    if y1 - y0 >= h or x1 - x0 >= w:
        return None  # no room to shift the ring anywhere
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).astype(np.float32)
    known = (~hole).astype(np.float32)
    ring = ring_around(hole, _RING)[y0:y1, x0:x1].astype(np.float32)
    cost = np.zeros((h - (y1 - y0) + 1, w - (x1 - x0) + 1), np.float32)
    overlap = _ccorr(known, ring)
    for c in range(3):
        image = gray[:, :, c] * known
        template = gray[y0:y1, x0:x1, c] * ring
        cost += _ccorr(known, template * template)  # sum T^2 where both are known
        cost -= 2 * _ccorr(image, template)
        cost += _ccorr(image * image, ring)
    valid = overlap >= _MIN_OVERLAP * float(ring.sum())
    py, px = np.mgrid[0 : cost.shape[0], 0 : cost.shape[1]]
    dy, dx = py - y0, px - x0
    extent = max(int(ys.max() - ys.min()), int(xs.max() - xs.min())) + 1
    valid &= np.maximum(np.abs(dy), np.abs(dx)) >= max(_MIN_SHIFT, extent // 3)
    if valid.sum() < 16:
        return None
    per_pixel = np.where(valid, cost / np.maximum(overlap, 1.0), np.inf)
    index = np.unravel_index(int(np.argmin(per_pixel)), per_pixel.shape)
    median = float(np.median(per_pixel[valid]))
    ratio = float(per_pixel[index]) / max(median, 1e-6)
    return (int(dy[index]), int(dx[index])), ratio


def shift_fill(rgb: ImageArray, hole: MaskArray, shift: tuple[int, int]) -> tuple[ImageArray, MaskArray]:
    """Each hole pixel copies p + shift once that is known; returns the image and what stayed unfilled."""
    out = rgb.copy()
    todo = hole.copy()
    h, w = hole.shape
    dy, dx = shift
    while todo.any():
        ys, xs = np.nonzero(todo)
        sy, sx = ys + dy, xs + dx
        inside = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
        ready = np.zeros(len(ys), bool)
        ready[inside] = ~todo[sy[inside], sx[inside]]
        if not ready.any():
            break  # the rest has its source outside the photo
        out[ys[ready], xs[ready]] = out[sy[ready], sx[ready]]
        todo[ys[ready], xs[ready]] = False
    return out, todo


def fill_regular(rgb: ImageArray, hole: MaskArray) -> tuple[ImageArray, MaskArray] | None:
    """The hole filled by the pattern's period, or None when the surroundings are not regular."""
    found = best_shift(rgb, hole)
    if found is None or found[1] > PERIODIC_RATIO:
        return None
    return shift_fill(rgb, hole, found[0])
