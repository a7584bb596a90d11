"""Local style filters: pencil sketch (grey, colour), watercolour, painting, cartoon, duotone, vintage
film, high key and low key.

Every filter is a pure function of the pixels (fixed seeds for grain and paper), so the same photo
always gives the same bytes. The expensive parts (edge-preserving smoothing, colour clustering,
large blurs) run on a working copy of at most ~1 MP and come back to full size as smooth layers;
everything at full resolution is a lookup table, a resize or a blend in OpenCV, so a 12 MP photo
stays within about a second. `strength` (0–100) blends the effect over the photo; alpha is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.tools.registry import ImageArray, ParamError

FloatArray = npt.NDArray[Any]  # float32 layers (OpenCV's stubs do not keep the dtype)
_SEED = 20261206


@dataclass(frozen=True, kw_only=True, slots=True)
class Preset:
    name: str
    label: str
    run: Callable[[ImageArray], ImageArray]  # RGB in, RGB out, same size


def _long_side(image: np.ndarray) -> int:
    return int(max(image.shape[:2]))


def _downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _to_size(layer: np.ndarray, like: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    h, w = like.shape[:2]
    if layer.shape[:2] == (h, w):
        return layer
    return cv2.resize(layer, (w, h), interpolation=interpolation)


def _lut(values: np.ndarray) -> np.ndarray:
    table: np.ndarray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return table


def _gray(rgb: ImageArray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _grey3(gray: np.ndarray) -> ImageArray:
    return np.ascontiguousarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))


def _noise(shape: tuple[int, int], seed: int, grain_px: float) -> FloatArray:
    """Deterministic zero-mean, unit-variance noise whose grain is about `grain_px` pixels wide."""
    h, w = shape
    step = max(1.0, grain_px)
    sh, sw = max(2, round(h / step)), max(2, round(w / step))
    rng = np.random.default_rng(seed)
    small = rng.standard_normal((sh, sw), dtype=np.float32)
    if (sh, sw) == (h, w):
        return small
    big: FloatArray = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    # Interpolation lowers the variance; bring it back to one.
    gain = 1.0 / max(1e-3, float(np.std(big[:: max(1, h // 256), :: max(1, w // 256)])))
    return cv2.multiply(big, gain)


def _vignette(shape: tuple[int, int], strength: float) -> FloatArray:
    """A multiplicative vignette (1 in the centre, 1 - strength in the corners), made small and resized."""
    h, w = shape
    sh, sw = max(2, h // 16), max(2, w // 16)
    ys = np.linspace(-1.0, 1.0, sh, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, sw, dtype=np.float32)[None, :]
    r2 = (xs * xs + ys * ys) / 2.0
    small = 1.0 - strength * np.clip(r2, 0, 1) ** 1.5
    return cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


_FACTOR_ONE = 160.0  # a multiplicative layer as uint8: 160 means 1.0 (up to 1.59)


def _multiply(rgb: ImageArray, factor: FloatArray) -> ImageArray:
    """rgb x factor per pixel, in uint8 (a float layer of three channels at 12 MP would cost more)."""
    coded = cv2.convertScaleAbs(factor, alpha=_FACTOR_ONE)
    out = cv2.multiply(rgb, cv2.cvtColor(coded, cv2.COLOR_GRAY2RGB), scale=1.0 / _FACTOR_ONE)
    return np.ascontiguousarray(out)


# --- pencil -------------------------------------------------------------------------------------------


def _dodge(gray: np.ndarray) -> np.ndarray:
    """The classic pencil sketch: the grey photo colour-dodged by its blurred negative."""
    small = _downscale(gray, 1024)
    sigma = max(1.5, _long_side(small) / 110)
    blurred = cv2.GaussianBlur(255 - small, (0, 0), sigma)
    inverse = _to_size(blurred, gray)
    sketch = cv2.divide(gray, 255 - inverse, scale=256)
    # Darker, denser strokes: a curve that keeps paper white and deepens every line.
    curve = _lut(255.0 * (np.arange(256) / 255.0) ** 2.2)
    return cv2.LUT(sketch, curve)


def _paper(shape: tuple[int, int]) -> FloatArray:
    """A faint paper tooth: multiplicative, around 0.97–1.0."""
    grain = _noise(shape, _SEED, max(1.0, max(shape) / 1500))
    return np.float32(0.985) + np.float32(0.012) * np.clip(grain, -1.5, 1.5)


def pencil(rgb: ImageArray) -> ImageArray:
    sketch = _dodge(_gray(rgb))
    paper = _paper(sketch.shape[:2])
    return _grey3(cv2.multiply(sketch, paper, dtype=cv2.CV_8U))


def pencil_colour(rgb: ImageArray) -> ImageArray:
    sketch = _dodge(_gray(rgb))
    # Colour pencil: the photo's colours, softened and lightened, laid under the pencil lines.
    small = _downscale(rgb, 720)
    wash = cv2.bilateralFilter(small, 7, 40, 7)
    hsv = cv2.cvtColor(wash, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = cv2.LUT(hsv[..., 1], _lut(np.arange(256) * 1.25))
    hsv[..., 2] = cv2.LUT(hsv[..., 2], _lut(110 + np.arange(256) * 0.6))
    wash = _to_size(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), rgb)
    lines = cv2.multiply(sketch, _paper(sketch.shape[:2]), dtype=cv2.CV_8U)
    return np.ascontiguousarray(cv2.multiply(wash, cv2.cvtColor(lines, cv2.COLOR_GRAY2RGB), scale=1.0 / 255))


# --- watercolour and painting -------------------------------------------------------------------------


def watercolour(rgb: ImageArray) -> ImageArray:
    """Line and wash: soft, light washes of the photo's colours that bleed a little, a faint pencil line
    on top, pigment granulating in the paper's tooth."""
    small = _downscale(rgb, 720)
    washes = small
    for _ in range(3):
        washes = cv2.bilateralFilter(washes, 9, 60, 9)
    washes = cv2.edgePreservingFilter(washes, flags=cv2.RECURS_FILTER, sigma_s=30, sigma_r=0.5)
    # Wet edges bleed: mix in a blurred wash where a slow noise says the paper was wetter.
    bled = cv2.GaussianBlur(washes, (0, 0), _long_side(small) / 160)
    wet = np.clip(_noise(small.shape[:2], _SEED + 3, _long_side(small) / 12) * 0.5 + 0.5, 0, 1)
    washes = cv2.blendLinear(washes, bled, 1 - wet, wet)
    hsv = cv2.cvtColor(washes, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = cv2.LUT(hsv[..., 1], _lut(np.arange(256) * 1.1))
    washes = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    washes = cv2.addWeighted(washes, 0.78, np.full_like(washes, 255), 0.22, 0)  # water thins the paint
    layer = _to_size(washes, rgb)
    # A faint line (a third of the pencil, drawn at up to 1600 px: a soft line suits a wash).
    lines = _to_size(_dodge(_downscale(_gray(rgb), 1600)), rgb).astype(np.float32)
    h, w = rgb.shape[:2]
    paper = _noise((h, w), _SEED + 1, max(1.5, max(h, w) / 700))
    # Lines and the paper's grain as one multiplicative layer.
    shade = cv2.addWeighted(lines, 0.3 / 255, paper, 0.03, 0.7)
    return _multiply(layer, shade)


def painting(rgb: ImageArray) -> ImageArray:
    """Painterly: broad, smooth strokes of richer colour that follow the shapes; fine texture gone."""
    small = _downscale(rgb, 640)
    smooth = cv2.edgePreservingFilter(small, flags=cv2.RECURS_FILTER, sigma_s=60, sigma_r=0.45)
    # Brush daubs: an opening and closing in colour merge small strokes into larger ones.
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    daubs = cv2.morphologyEx(cv2.morphologyEx(smooth, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    detail = cv2.detailEnhance(daubs, sigma_s=10, sigma_r=0.15)
    hsv = cv2.cvtColor(detail, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = cv2.LUT(hsv[..., 1], _lut(np.arange(256) * 1.2))
    out = _to_size(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), rgb)
    # Canvas weave, faint.
    h, w = rgb.shape[:2]
    canvas = _noise((h, w), _SEED + 4, max(1.5, max(h, w) / 900))
    return _multiply(out, np.float32(1.0) + np.float32(0.03) * canvas)


# --- cartoon ------------------------------------------------------------------------------------------

CARTOON_COLOURS = 12


def _palette(pixels: FloatArray, k: int) -> FloatArray:
    """k colour centres by k-means from a deterministic start (luma quantiles), in Lab."""
    order = np.argsort(pixels[:, 0], kind="stable")
    picks = order[np.linspace(0, len(order) - 1, k).astype(int)]
    centres: FloatArray = pixels[picks].copy()
    for _ in range(10):
        distances = ((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = distances.argmin(axis=1)
        for index in range(k):
            members = pixels[labels == index]
            if len(members):
                centres[index] = members.mean(axis=0)
    return centres


def cartoon(rgb: ImageArray) -> ImageArray:
    small = _downscale(rgb, 800)
    smooth = small
    for _ in range(3):
        smooth = cv2.bilateralFilter(smooth, 7, 45, 7)
    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    sample = lab[:: max(1, len(lab) // 20000)]
    centres = _palette(sample, CARTOON_COLOURS)
    # Assign each pixel to its nearest centre in chunks (bounded memory).
    labels = np.empty(len(lab), dtype=np.uint8)
    for start in range(0, len(lab), 65536):
        chunk = lab[start : start + 65536]
        labels[start : start + 65536] = ((chunk[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    colours = cv2.cvtColor(np.clip(np.rint(centres), 0, 255).astype(np.uint8)[None], cv2.COLOR_LAB2RGB)[0]
    # A touch more colour, as cartoons have.
    hsv = cv2.cvtColor(colours[None], cv2.COLOR_RGB2HSV)
    hsv[..., 1] = cv2.LUT(hsv[..., 1], _lut(np.arange(256) * 1.2))
    colours = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]
    label_map = cv2.medianBlur(labels.reshape(small.shape[:2]), 5)
    label_full = _to_size(label_map, rgb, cv2.INTER_NEAREST)
    label_full = cv2.medianBlur(label_full, 5)
    flat = colours[label_full]
    # Ink lines from the smoothed image, drawn at the working size so they scale with the photo.
    gray = cv2.medianBlur(cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY), 5)
    block = max(3, (_long_side(small) // 90) | 1)
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 7)
    ink = _to_size(ink, rgb)
    ink = cv2.threshold(ink, 110, 255, cv2.THRESH_BINARY)[1]
    return np.ascontiguousarray(cv2.bitwise_and(flat, cv2.cvtColor(ink, cv2.COLOR_GRAY2RGB)))


# --- duotone, vintage, high key, low key --------------------------------------------------------------

DUOTONE_SHADOW = (29, 32, 92)  # deep indigo
DUOTONE_LIGHT = (255, 190, 140)  # warm apricot


def _stretch(gray: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0) -> tuple[float, float]:
    small = _downscale(gray, 512)
    lo, hi = np.percentile(small, [low_pct, high_pct])
    return float(lo), float(max(hi, lo + 1))


def duotone(rgb: ImageArray) -> ImageArray:
    gray = _gray(rgb)
    lo, hi = _stretch(gray)
    t = np.clip((np.arange(256, dtype=np.float32) - lo) / (hi - lo), 0, 1)
    t = t * t * (3 - 2 * t)  # smooth S: clean shadows, clean lights
    shadow, light = np.asarray(DUOTONE_SHADOW, np.float32), np.asarray(DUOTONE_LIGHT, np.float32)
    table = _lut(shadow[None, :] + t[:, None] * (light - shadow)[None, :])  # 256 x 3
    grey3 = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(cv2.LUT(grey3, table.reshape(256, 1, 3)))


def _grade(rgb: ImageArray, curves: tuple[np.ndarray, np.ndarray, np.ndarray]) -> ImageArray:
    table = np.stack([_lut(c) for c in curves], axis=1).reshape(256, 1, 3)
    return np.asarray(cv2.LUT(rgb, table), dtype=np.uint8)


def _desaturate(rgb: ImageArray, amount: float) -> ImageArray:
    grey3 = cv2.cvtColor(_gray(rgb), cv2.COLOR_GRAY2RGB)
    return np.asarray(cv2.addWeighted(rgb, 1.0 - amount, grey3, amount, 0), dtype=np.uint8)


def vintage(rgb: ImageArray) -> ImageArray:
    x = np.arange(256, dtype=np.float32) / 255.0
    s = x + 0.12 * np.sin(2 * np.pi * x) * -0.5  # gentle S
    red = 255 * (0.07 + 0.9 * s**0.95)
    green = 255 * (0.06 + 0.86 * s)
    blue = 255 * (0.12 + 0.7 * s**1.05)
    graded = _desaturate(_grade(rgb, (red, green, blue)), 0.25)
    h, w = rgb.shape[:2]
    grain = _noise((h, w), _SEED + 2, max(1.0, max(h, w) / 1400))
    # Film grain shows most in the midtones: its weight follows a small copy of the brightness.
    luma = _downscale(_gray(graded), 512).astype(np.float32) / 255
    vignette = _vignette(luma.shape, 0.35)
    weight = _to_size(vignette * 0.1 * (1 - (2 * luma - 1) ** 2), graded)
    factor = _to_size(vignette, graded) + grain * weight
    return _multiply(graded, factor)


def high_key(rgb: ImageArray) -> ImageArray:
    x = np.arange(256, dtype=np.float32) / 255.0
    curve = 255 * (0.2 + 0.8 * x**0.55)
    bright = _desaturate(_grade(rgb, (curve, curve, curve)), 0.2)
    # A soft glow from the highlights, made small.
    small = _downscale(bright, 512)
    glow = cv2.GaussianBlur(small, (0, 0), max(2.0, _long_side(small) / 60))
    glow = _to_size(glow, rgb)
    return np.ascontiguousarray(cv2.addWeighted(bright, 0.8, glow, 0.2, 8))


def low_key(rgb: ImageArray) -> ImageArray:
    x = np.arange(256, dtype=np.float32) / 255.0
    # Deep shadows and dark midtones; the brightest parts of this photo keep their level and punch.
    _lo, hi = _stretch(_gray(rgb), 1.0, 99.5)
    top = hi / 255.0
    curve = 255 * top * np.clip(x / top, 0, 1.2) ** 2.4
    dark = _desaturate(_grade(rgb, (curve, curve, curve)), 0.15)
    return _multiply(dark, _vignette(rgb.shape[:2], 0.6))


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(name="pencil", label="Pencil sketch", run=pencil),
        Preset(name="pencil-colour", label="Colour pencil", run=pencil_colour),
        Preset(name="watercolour", label="Watercolour", run=watercolour),
        Preset(name="painting", label="Painting", run=painting),
        Preset(name="cartoon", label="Cartoon", run=cartoon),
        Preset(name="duotone", label="Duotone", run=duotone),
        Preset(name="vintage", label="Vintage film", run=vintage),
        Preset(name="high-key", label="High key", run=high_key),
        Preset(name="low-key", label="Low key", run=low_key),
    )
}
# Other spellings people type or the interpreter finds.
ALIASES = {
    "sketch": "pencil",
    "pencil-sketch": "pencil",
    "pencil-color": "pencil-colour",
    "color-pencil": "pencil-colour",
    "colour-pencil": "pencil-colour",
    "watercolor": "watercolour",
    "painterly": "painting",
    "oil": "painting",
    "comic": "cartoon",
    "film": "vintage",
    "retro": "vintage",
    "highkey": "high-key",
    "lowkey": "low-key",
}


def preset_name(name: str) -> str:
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in PRESETS:
        raise ParamError(f"Unknown style {name!r}: choose one of {', '.join(PRESETS)}")
    return key


def apply_style(image: ImageArray, preset: str, strength: float = 100.0) -> ImageArray:
    """The preset on an RGB or RGBA photo, blended over it at `strength` percent (alpha kept)."""
    spec = PRESETS[preset_name(preset)]
    amount = max(0.0, min(100.0, float(strength))) / 100.0
    rgb = np.ascontiguousarray(image[..., :3])
    if amount <= 0:
        return image.copy()
    styled = spec.run(rgb)
    if amount < 1:
        styled = np.asarray(cv2.addWeighted(styled, amount, rgb, 1.0 - amount, 0), dtype=np.uint8)
    if image.shape[2] == 4:
        styled = np.dstack([styled, image[..., 3]])
    return np.ascontiguousarray(styled)
