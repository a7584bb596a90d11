"""Full-resolution cut-out edges from a low-resolution network alpha (reference/MATTING.md).

The network sees ~1 MP. Upsampling its alpha blurs every edge, so the edge is rebuilt with the
photo as the guide:

* standard: a colour guided filter (He et al.) fitted at ~1000 px on a band around the edge
  (confident inside/outside stay pinned at 1/0), its linear coefficients evaluated at full
  resolution, only for the pixels of the band;
* pro: closed-form matting (Levin et al., pymatting) on a +-6 px band around the 0.5 contour at
  ~1333 px, network alpha kept outside the band with a soft feather, brought to full resolution
  with guided-filter coefficients (r2, eps 1e-5); a mask that is soft over more than 10 % of the
  subject (fur in haze, motion blur) makes closed-form fail, so it gets the banded guided filter
  at ~2000 px instead;
* foreground colours (`cutout_rgba`): blur-fusion (Forte & Pitie 2021) with the blurs at low resolution and the
  per-pixel formula at full resolution on edge pixels only, which removes the dark/background
  fringe on hair.

Only the band pixels are computed at full resolution: 12 MP stays within ~0.2 s for standard.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.registry import ImageArray

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
    """Full-resolution alpha for `standard`: fast banded colour guided filter at ~1000 px (r4, eps 1e-4)."""
    return banded_guided_alpha(image, small, alpha_small, r=4, eps=1e-4)


def soft_fraction(alpha: FloatArray) -> float:
    """Share of the subject whose alpha is neither clearly in nor clearly out."""
    subject = int(np.count_nonzero(alpha > 0.05))
    soft = int(np.count_nonzero((alpha > 0.05) & (alpha < 0.95)))
    return soft / max(1, subject)


def closed_form_alpha(guide: ImageArray, alpha: FloatArray, *, band_radius: int = 10) -> FloatArray:
    """Closed-form matting on a band around the 0.5 contour; network alpha outside, 3 px feather."""
    from pymatting import estimate_alpha_cf

    hard = (alpha > 0.5).astype(np.uint8)
    edge = cv2.dilate(hard, _disk(1)) != cv2.erode(hard, _disk(1))
    band = cv2.dilate(edge.astype(np.uint8), _disk(band_radius))
    trimap = np.where(band > 0, 0.5, hard.astype(np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "incomplete Cholesky failed" is recovered from internally
        solved = estimate_alpha_cf(guide[:, :, :3].astype(np.float64) / 255.0, trimap)
    solved32 = np.clip(np.asarray(solved, dtype=np.float32), 0.0, 1.0)
    weight = cv2.GaussianBlur(band.astype(np.float32), (0, 0), 1.5)
    weight = np.maximum(weight, band.astype(np.float32))
    return np.asarray(weight * solved32 + (1.0 - weight) * alpha, dtype=np.float32)


def pro_alpha(image: ImageArray, alpha_small: FloatArray) -> Matte:
    """Full-resolution alpha for `pro`: closed-form matting at ~1333 px, or the soft-mask fallback."""
    h, w = image.shape[:2]
    if soft_fraction(alpha_small) > 0.10:
        factor = shrink_factor(h, w, 2000)
        guide = area_shrink(image, factor)
        alpha = cv2.resize(alpha_small, (guide.shape[1], guide.shape[0]), interpolation=cv2.INTER_LINEAR)
        return banded_guided_alpha(image, guide, np.asarray(alpha, dtype=np.float32), r=8, eps=1e-4)
    # Closed-form cost grows with the pixel count: solve at ~1.33 MP (a whole-factor shrink).
    factor = max(1, math.ceil(math.sqrt(h * w / 1.4e6) - 0.05))
    guide = area_shrink(image, factor)
    alpha_net = np.asarray(
        cv2.resize(alpha_small, (guide.shape[1], guide.shape[0]), interpolation=cv2.INTER_LINEAR), dtype=np.float32
    )
    alpha_cf = closed_form_alpha(guide, alpha_net)
    guide_f = guide[:, :, :3].astype(np.float32) * np.float32(1.0 / 255.0)
    coefficients = guided_coefficients(guide_f, alpha_cf, 2, 1e-4)
    kernel = _disk(3)
    inside = np.asarray(cv2.erode((alpha_cf > 0.99).astype(np.uint8), kernel), dtype=np.uint8)
    outside = np.asarray(cv2.erode((alpha_cf < 0.01).astype(np.uint8), kernel), dtype=np.uint8)
    band = ((inside == 0) & (outside == 0)).astype(np.uint8)
    return _apply_coefficients(image, coefficients, band, inside)


def _blur(x: FloatArray, r: int) -> FloatArray:
    return np.asarray(cv2.blur(x, (r, r), borderType=cv2.BORDER_REFLECT), dtype=np.float32)


def cutout_rgba(image: ImageArray, matte: Matte, *, work_side: int = 1000) -> ImageArray:
    """RGBA cut-out with edge colours freed of the old background (blur-fusion, r=90 then r=6).

    The blurred foreground/background estimates are computed at ~`work_side` px; the per-pixel
    update runs at full resolution only on the band's pixels with 0 < alpha < 255.
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
    a3 = small_a[:, :, None]
    fg = small_img
    bg = small_img
    blurred_f = small_img
    blurred_b = small_img
    for radius in (max(3, round(90 / factor)), max(3, round(6 / factor))):
        blurred_a = _blur(small_a, radius)[:, :, None]
        blurred_f = _blur(fg * a3, radius) / (blurred_a + 1e-5)
        blurred_b = _blur(bg * (1.0 - a3), radius) / ((1.0 - blurred_a) + 1e-5)
        fg = np.clip(blurred_f + a3 * (small_img - a3 * blurred_f - (1.0 - a3) * blurred_b), 0.0, 1.0)
        bg = blurred_b
    scale = w / small_img.shape[1]
    blurred_f = np.ascontiguousarray(blurred_f, dtype=np.float32)
    blurred_b = np.ascontiguousarray(blurred_b, dtype=np.float32)
    a_soft = a_band[soft]
    for part in _chunks(ys.size):
        cy, cx = ys[part], xs[part]
        f_at = _sample(blurred_f, cy, cx, scale)
        b_at = _sample(blurred_b, cy, cx, scale)
        a_at = a_soft[part].astype(np.float32)[:, None] * np.float32(1.0 / 255.0)
        i_at = rgb[cy, cx].astype(np.float32) * np.float32(1.0 / 255.0)
        f_full = f_at + a_at * (i_at - a_at * f_at - (1.0 - a_at) * b_at)
        out[cy, cx, :3] = np.clip(f_full * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
