"""Full-resolution cut-out edges from a low-resolution network alpha (reference/MATTING.md).

The network sees ~1 MP. Its alpha is first made trimap-like (`trimap.solidify`): whatever lies
well inside the 0.5 contour is opaque, far outside transparent, so only the edge band stays soft.
Upsampling that alpha would blur every edge, so the edge is rebuilt with the photo as the guide:

* standard: a colour guided filter (He et al.) fitted at ~1000 px on a band around the edge
  (confident inside/outside stay pinned at 1/0), its linear coefficients evaluated at full
  resolution, only for the pixels of the band;
* pro: the standard edge, blended with closed-form matting (Levin et al., pymatting; a band around
  the 0.5 contour at ~1333 px, brought to full resolution with guided-filter coefficients) only
  where `trimap.soft_edge_weight` finds hair or fur; a hard outline keeps the standard edge. A mask
  soft over more than 10 % of the subject makes closed-form fail, so there the blend uses the
  banded guided filter at ~2000 px instead;
* foreground colours (`cutout_rgba`): pymatting's multi-level foreground estimation at low
  resolution on the box around the soft pixels, then the compositing equation per pixel at full
  resolution on edge pixels only, which removes the dark/background fringe on hair.

Only the band pixels are computed at full resolution: 12 MP stays within ~0.2 s for standard.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.ops import trimap
from pixora_ui.engine.tools.registry import ImageArray

FloatArray = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]
_SAMPLE_ROW = 4096
Coords = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Matte:
    """A full-resolution alpha and the coordinates of its edge band (the only pixels computed there)."""

    alpha: npt.NDArray[np.uint8]
    ys: Coords
    xs: Coords  # cv2.remap maps are laid out in rows this long (remap fails past 32767 px)


def shrink_factor(height: int, width: int, target: int) -> int:
    """The whole factor that brings the long side down to about `target` (1 when already small)."""
    return max(1, max(height, width) // target)


def area_shrink(image: ImageArray, factor: int) -> ImageArray:
    """Exact area average by a whole factor: several times faster than INTER_AREA at an odd ratio."""
    if factor <= 1:
        return image
    h, w = image.shape[:2]
    return np.asarray(cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _box(x: FloatArray, r: int) -> FloatArray:
    return np.asarray(
        cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT),
        dtype=np.float32,
    )


def guided_coefficients(guide: FloatArray, p: FloatArray, r: int, eps: float) -> FloatArray:
    """Averaged linear coefficients (a_r, a_g, a_b, b) of a colour guided filter: q = a . I + b.

    `guide` is H x W x 3 in 0..1, `p` H x W in 0..1. Evaluating q with a finer version of the guide
    is the "fast guided filter" (He & Sun 2015): edges at the fine scale, cost at the coarse one.
    """
    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    cov_ip = _box(guide * p[:, :, None], r) - mean_i * mean_p[:, :, None]
    i0, i1, i2 = guide[:, :, 0], guide[:, :, 1], guide[:, :, 2]
    m0, m1, m2 = mean_i[:, :, 0], mean_i[:, :, 1], mean_i[:, :, 2]
    v00 = _box(i0 * i0, r) - m0 * m0 + eps
    v01 = _box(i0 * i1, r) - m0 * m1
    v02 = _box(i0 * i2, r) - m0 * m2
    v11 = _box(i1 * i1, r) - m1 * m1 + eps
    v12 = _box(i1 * i2, r) - m1 * m2
    v22 = _box(i2 * i2, r) - m2 * m2 + eps
    # Inverse of the symmetric 3x3 covariance, per pixel (adjugate / determinant).
    c00 = v11 * v22 - v12 * v12
    c01 = v12 * v02 - v01 * v22
    c02 = v01 * v12 - v11 * v02
    c11 = v00 * v22 - v02 * v02
    c12 = v02 * v01 - v00 * v12
    c22 = v00 * v11 - v01 * v01
    det = v00 * c00 + v01 * c01 + v02 * c02
    inv_det = 1.0 / np.maximum(det, 1e-12)
    x0, x1, x2 = cov_ip[:, :, 0], cov_ip[:, :, 1], cov_ip[:, :, 2]
    a0 = (c00 * x0 + c01 * x1 + c02 * x2) * inv_det
    a1 = (c01 * x0 + c11 * x1 + c12 * x2) * inv_det
    a2 = (c02 * x0 + c12 * x1 + c22 * x2) * inv_det
    b = mean_p - a0 * m0 - a1 * m1 - a2 * m2
    coefficients = np.dstack([a0, a1, a2, b]).astype(np.float32)
    return _box(coefficients, r)


def _sample(maps: FloatArray, ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp], scale: float) -> FloatArray:
    """Bilinear samples of a low-resolution map at full-resolution pixel centres (N x C)."""
    n = ys.size
    rows = max(1, -(-n // _SAMPLE_ROW))
    map_x = np.zeros(rows * _SAMPLE_ROW, dtype=np.float32)
    map_y = np.zeros(rows * _SAMPLE_ROW, dtype=np.float32)
    map_x[:n] = (xs + 0.5) / scale - 0.5
    map_y[:n] = (ys + 0.5) / scale - 0.5
    out = cv2.remap(
        maps,
        map_x.reshape(rows, _SAMPLE_ROW),
        map_y.reshape(rows, _SAMPLE_ROW),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    channels = 1 if out.ndim == 2 else out.shape[2]
    return np.asarray(out.reshape(rows * _SAMPLE_ROW, channels)[:n], dtype=np.float32)


def _chunks(count: int, size: int = 1 << 18) -> list[slice]:
    """Slices of at most `size` band pixels: the per-pixel formulas then need a few MB of
    temporaries instead of ~150 MB for a 12 MP photo's edge band."""
    return [slice(start, min(count, start + size)) for start in range(0, count, size)]


def _upscale_mask(mask: npt.NDArray[np.uint8], height: int, width: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)


def _apply_coefficients(
    image: ImageArray, coefficients: FloatArray, band_small: npt.NDArray[np.uint8], inside_small: npt.NDArray[np.uint8]
) -> Matte:
    """Full-resolution alpha: 255 inside, 0 outside, q = a . I + b on the band's pixels."""
    h, w = image.shape[:2]
    scale = w / coefficients.shape[1]
    alpha = _upscale_mask(inside_small * np.uint8(255), h, w)
    band = _upscale_mask(band_small, h, w)
    ys, xs = np.nonzero(band)
    for part in _chunks(ys.size):
        cy, cx = ys[part], xs[part]
        coef = _sample(coefficients, cy, cx, scale)
        pixels = image[cy, cx, :3].astype(np.float32) * np.float32(1.0 / 255.0)
        q = np.einsum("nc,nc->n", pixels, coef[:, :3]) + coef[:, 3]
        # Within 2 % of 0 or 1 is noise of the fit: snapping it keeps edges clean and the PNG small.
        q = np.where(q < 0.02, 0.0, np.where(q > 0.98, 1.0, q))
        alpha[cy, cx] = np.clip(q * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Matte(alpha, ys, xs)


def _disk(radius: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)), dtype=np.uint8)


def banded_guided_alpha(
    image: ImageArray, guide_small: ImageArray, alpha_small: FloatArray, *, r: int, eps: float
) -> Matte:
    """Standard edges: the guided filter on a band, confident regions pinned to 0 and 1."""
    guide = guide_small[:, :, :3].astype(np.float32) * np.float32(1.0 / 255.0)
    coefficients = guided_coefficients(guide, alpha_small, r, eps)
    kernel = _disk(r + 1)
    inside = np.asarray(cv2.erode((alpha_small > 0.95).astype(np.uint8), kernel), dtype=np.uint8)
    outside = np.asarray(cv2.erode((alpha_small < 0.05).astype(np.uint8), kernel), dtype=np.uint8)
    band = ((inside == 0) & (outside == 0)).astype(np.uint8)
    return _apply_coefficients(image, coefficients, band, inside)


def standard_alpha(image: ImageArray, small: ImageArray, alpha_small: FloatArray) -> Matte:
    """Full-resolution alpha for `standard`: the solid trimap-like alpha, then the fast banded colour
    guided filter at ~1000 px (r4, eps 1e-4)."""
    return banded_guided_alpha(image, small, trimap.solidify(alpha_small), r=4, eps=1e-4)


def soft_fraction(alpha: FloatArray) -> float:
    """Share of the subject whose alpha is neither clearly in nor clearly out."""
    subject = int(np.count_nonzero(alpha > 0.05))
    soft = int(np.count_nonzero((alpha > 0.05) & (alpha < 0.95)))
    return soft / max(1, subject)


def closed_form_alpha(guide: ImageArray, alpha: FloatArray, *, band_radius: int = 10) -> FloatArray:
    """Closed-form matting on a band around the 0.5 contour; network alpha outside, 3 px feather."""
    from pymatting import estimate_alpha_cf  # noqa: PLC0415 - heavy (numba) runtime, loaded only for pro matting

    hard = (alpha > 0.5).astype(np.uint8)
    edge = cv2.dilate(hard, _disk(1)) != cv2.erode(hard, _disk(1))
    band = cv2.dilate(edge.astype(np.uint8), _disk(band_radius))
    trimap = np.where(band > 0, 0.5, hard.astype(np.float64))
    if not (trimap == 0.0).any() or not (trimap == 1.0).any():
        # The band covers the whole crop on one side (a small or thin subject): closed-form matting
        # has nothing to anchor that side to (pymatting raises), so keep the network's edge.
        return alpha.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "incomplete Cholesky failed" is recovered from internally
        solved = estimate_alpha_cf(guide[:, :, :3].astype(np.float64) / 255.0, trimap)
    solved32 = np.clip(np.asarray(solved, dtype=np.float32), 0.0, 1.0)
    weight = cv2.GaussianBlur(band.astype(np.float32), (0, 0), 1.5)
    weight = np.maximum(weight, band.astype(np.float32))
    return np.asarray(weight * solved32 + (1.0 - weight) * alpha, dtype=np.float32)


def _soft_boxes(soft: Mask, pad: int = 24) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) boxes around each soft region, grown by `pad` px of solid context (narrow
    crops leave seams). The Laplacian costs per pixel of its crop: separate boxes are ~5x cheaper
    than one box around hair on both sides of a head."""
    grown = cv2.dilate(soft.astype(np.uint8), np.ones((2 * pad + 1, 2 * pad + 1), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    return [(int(y), int(y + bh), int(x), int(x + bw)) for x, y, bw, bh, _area in (stats[i] for i in range(1, count))]


def _closed_form_matte(image: ImageArray, alpha_small: FloatArray, weight_small: FloatArray) -> Matte:
    """Closed-form matting at ~1.33 MP on boxes around the soft edges only, brought to full
    resolution with guided-filter coefficients (band pixels inside those boxes only)."""
    h, w = image.shape[:2]
    # Closed-form cost grows with the pixel count: solve at ~1.33 MP (a whole-factor shrink).
    factor = max(1, math.ceil(math.sqrt(h * w / 1.4e6) - 0.05))
    guide = area_shrink(image, factor)
    gh, gw = guide.shape[:2]
    alpha_net = np.asarray(cv2.resize(alpha_small, (gw, gh), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    weight = cv2.resize(weight_small, (gw, gh), interpolation=cv2.INTER_LINEAR)
    alpha_cf = alpha_net.copy()
    solved = np.zeros((gh, gw), dtype=np.uint8)
    for y0, y1, x0, x1 in _soft_boxes(weight > 0.01):
        alpha_cf[y0:y1, x0:x1] = closed_form_alpha(guide[y0:y1, x0:x1], alpha_net[y0:y1, x0:x1])
        solved[y0:y1, x0:x1] = 1
    guide_f = guide[:, :, :3].astype(np.float32) * np.float32(1.0 / 255.0)
    coefficients = guided_coefficients(guide_f, alpha_cf, 2, 1e-4)
    kernel = _disk(3)
    inside = np.asarray(cv2.erode((alpha_cf > 0.99).astype(np.uint8), kernel), dtype=np.uint8)
    outside = np.asarray(cv2.erode((alpha_cf < 0.01).astype(np.uint8), kernel), dtype=np.uint8)
    band = ((inside == 0) & (outside == 0) & (solved > 0)).astype(np.uint8)
    return _apply_coefficients(image, coefficients, band, inside)


def _blend(standard: Matte, refined: Matte, weight_small: FloatArray) -> Matte:
    """Standard alpha, replaced by `refined` in proportion to the soft-edge weight (on both bands)."""
    h, w = standard.alpha.shape
    band = np.zeros((h, w), dtype=np.bool_)
    band[standard.ys, standard.xs] = True
    band[refined.ys, refined.xs] = True
    ys, xs = np.nonzero(band)
    alpha = standard.alpha.copy()
    scale = w / weight_small.shape[1]
    for part in _chunks(ys.size):
        cy, cx = ys[part], xs[part]
        wt = _sample(weight_small, cy, cx, scale)[:, 0]
        a_std = standard.alpha[cy, cx].astype(np.float32)
        a_ref = refined.alpha[cy, cx].astype(np.float32)
        alpha[cy, cx] = np.clip(a_std + wt * (a_ref - a_std) + 0.5, 0, 255).astype(np.uint8)
    return Matte(alpha, ys, xs)


def pro_alpha(image: ImageArray, small: ImageArray, alpha_small: FloatArray) -> Matte:
    """Full-resolution alpha for `pro`: the standard edge, with closed-form matting blended in only
    where the edge is soft (hair, fur); a hard outline (a saucer's rim) keeps the standard edge."""
    h, w = image.shape[:2]
    solid = trimap.solidify(alpha_small)
    standard = banded_guided_alpha(image, small, solid, r=4, eps=1e-4)
    weight = trimap.soft_edge_weight(solid)
    if float(weight.max()) < 0.05:
        return standard
    if soft_fraction(solid) > 0.10:
        # Closed-form fails on a mask soft over a large area (fur in haze): a finer guided filter.
        factor = shrink_factor(h, w, 2000)
        guide = area_shrink(image, factor)
        alpha = cv2.resize(solid, (guide.shape[1], guide.shape[0]), interpolation=cv2.INTER_LINEAR)
        refined = banded_guided_alpha(image, guide, np.asarray(alpha, dtype=np.float32), r=8, eps=1e-4)
    else:
        refined = _closed_form_matte(image, solid, weight)
    return _blend(standard, refined, weight)


def foreground_background(image: FloatArray, alpha: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Smooth foreground and background colours that explain the photo (I = aF + (1-a)B): pymatting's
    multi-level estimation (Germer et al. 2020), on the box around the soft pixels only."""
    from pymatting import estimate_foreground_ml  # noqa: PLC0415 - heavy (numba) runtime, loaded only for pro matting

    fg = image.copy()
    bg = image.copy()
    soft = (alpha > 0.0) & (alpha < 1.0)
    rows = np.flatnonzero(soft.any(axis=1))
    if rows.size == 0:
        return fg, bg
    cols = np.flatnonzero(soft.any(axis=0))
    pad = 16  # context: the estimate propagates colours from the solid parts around the band
    y0, y1 = max(0, int(rows[0]) - pad), min(alpha.shape[0], int(rows[-1]) + pad + 1)
    x0, x1 = max(0, int(cols[0]) - pad), min(alpha.shape[1], int(cols[-1]) + pad + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, b = estimate_foreground_ml(
            image[y0:y1, x0:x1].astype(np.float64), alpha[y0:y1, x0:x1].astype(np.float64), return_background=True
        )
    fg[y0:y1, x0:x1] = f
    bg[y0:y1, x0:x1] = b
    return fg, bg


def cutout_rgba(image: ImageArray, matte: Matte, *, work_side: int = 1000) -> ImageArray:
    """RGBA cut-out with edge colours freed of the old background.

    Foreground and background colours are estimated at ~`work_side` px (multi-level estimation);
    at full resolution each soft edge pixel then gets F = F' + a (I - a F' - (1 - a) B'), which puts
    the photo's own fine detail back into the smooth estimate. Only band pixels with 0 < alpha < 255
    are touched.
    """
    h, w = image.shape[:2]
    rgb = np.ascontiguousarray(image[:, :, :3])
    out = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA), dtype=np.uint8)
    out[:, :, 3] = matte.alpha
    a_band = matte.alpha[matte.ys, matte.xs]
    soft = (a_band > 0) & (a_band < 255)
    ys, xs = matte.ys[soft], matte.xs[soft]
    if ys.size == 0:
        return out
    factor = shrink_factor(h, w, work_side)
    small_img = area_shrink(rgb, factor).astype(np.float32) * np.float32(1.0 / 255.0)
    small_a = area_shrink(matte.alpha, factor).astype(np.float32) * np.float32(1.0 / 255.0)
    fg, bg = foreground_background(small_img, small_a)
    scale = w / small_img.shape[1]
    fg = np.ascontiguousarray(fg, dtype=np.float32)
    bg = np.ascontiguousarray(bg, dtype=np.float32)
    a_soft = a_band[soft]
    for part in _chunks(ys.size):
        cy, cx = ys[part], xs[part]
        f_at = _sample(fg, cy, cx, scale)
        b_at = _sample(bg, cy, cx, scale)
        a_at = a_soft[part].astype(np.float32)[:, None] * np.float32(1.0 / 255.0)
        i_at = rgb[cy, cx].astype(np.float32) * np.float32(1.0 / 255.0)
        f_full = f_at + a_at * (i_at - a_at * f_at - (1.0 - a_at) * b_at)
        out[cy, cx, :3] = np.clip(f_full * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
