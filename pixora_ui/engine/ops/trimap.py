"""What of the network's alpha to trust: a solid inside, a clean outside, and where the edge is soft.

ISNet's alpha is often blotchy inside the subject (a cat's chest at 0.7, an ear at 0.6): refined as
it is, the background shows through. A matting trimap treats whatever lies well inside the 0.5
contour as opaque and well outside as transparent; only the band around the contour keeps a soft
alpha. `soft_edge_weight` says where that band is genuinely soft (hair, fur: fine texture in the
photo and a network that hesitates over a wide strip) so pro spends closed-form matting there only.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def band_width(height: int, width: int) -> float:
    """How far from the 0.5 contour alpha may stay soft: ~1.2 % of the long side, at least 3 px."""
    return max(3.0, 0.012 * max(height, width))


def _distance(mask: npt.NDArray[np.bool_]) -> FloatArray:
    """Distance of every pixel of `mask` to the nearest pixel outside it (0 outside). OpenCV does not
    count the photo's border as an edge, so a subject cut by the frame stays solid there."""
    if mask.all():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    return np.asarray(cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3), dtype=np.float32)


def _fill_hesitant_holes(hard: npt.NDArray[np.bool_], alpha: FloatArray) -> npt.NDArray[np.bool_]:
    """The 0.5 mask with its enclosed holes filled where the network only hesitated (mean alpha
    above 0.2: a blotch on the fur); a real hole (a cup's handle, between arm and body) is ~0."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~hard).astype(np.uint8), connectivity=4)
    if count <= 2:
        return hard
    h, w = hard.shape
    x, y, bw, bh = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    enclosed = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    sums = np.bincount(labels.ravel(), weights=alpha.ravel(), minlength=count)
    mean = sums / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
    fill = enclosed & (mean > 0.2)
    fill[0] = False  # label 0 is the 0.5 mask itself
    if not fill.any():
        return hard
    return np.asarray(hard | fill[labels], dtype=np.bool_)


def solidify(alpha: FloatArray, *, width: float | None = None) -> FloatArray:
    """The network alpha with the confident inside at 1 and the far outside at 0.

    Inside: more than `width` px inside the 0.5 contour. Outside: more than 3x `width` outside it
    (wider, so whiskers and stray hairs next to the subject survive; haze far away does not).
    """
    h, w = alpha.shape
    width = band_width(h, w) if width is None else width
    hard = _fill_hesitant_holes(alpha > 0.5, alpha)
    inside = _distance(hard) > width
    outside = _distance(~hard) > 3.0 * width
    out = alpha.copy()
    out[inside] = 1.0
    out[outside] = 0.0
    return out


def soft_edge_weight(alpha: FloatArray, *, width: float | None = None) -> FloatArray:
    """0..1 per pixel: how much the edge here looks like hair or fur rather than a hard outline.

    Either sign counts: the network hesitates (a wide strip of 0.1..0.9 alpha where a hard edge has
    a 1-2 px ramp: fur, or hair against a busy or blurred background), or the outline is ragged
    (tufts and strands; a rim, a sleeve or a box is a smooth curve). The photo's own texture does not
    tell them apart: wood grain behind a saucer is as busy as hair (measured on the coffee photo).
    """
    h, w = alpha.shape
    width = band_width(h, w) if width is None else width
    radius = max(2, round(width))
    k = 2 * radius + 1
    unsure = ((alpha > 0.1) & (alpha < 0.9)).astype(np.float32)
    # Share of hesitant pixels in the neighbourhood: a hard edge's ramp fills ~2/k of it.
    hesitation = cv2.boxFilter(unsure, -1, (k, k), borderType=cv2.BORDER_REFLECT)
    hard = (alpha > 0.5).astype(np.float32)
    smooth = cv2.GaussianBlur(hard, (0, 0), width / 2.0) > 0.5
    wiggle = (smooth != (hard > 0)).astype(np.float32)
    ones = np.ones((3, 3), np.uint8)
    contour = (cv2.dilate(hard, ones) != cv2.erode(hard, ones)).astype(np.float32)
    window = (2 * k + 1, 2 * k + 1)
    # Pixels that a smooth curve would move, per pixel of contour: ~0.01 on a saucer, 0.2+ on fur.
    ragged = cv2.boxFilter(wiggle, -1, window) / np.maximum(cv2.boxFilter(contour, -1, window), 1e-3)
    near_edge = cv2.dilate(np.maximum(unsure, contour), np.ones((k, k), np.uint8))
    weight = np.maximum(np.clip((hesitation - 0.25) / 0.25, 0.0, 1.0), np.clip((ragged - 0.06) / 0.08, 0.0, 1.0))
    return np.asarray(cv2.GaussianBlur(weight * near_edge, (0, 0), radius / 2.0), dtype=np.float32)
