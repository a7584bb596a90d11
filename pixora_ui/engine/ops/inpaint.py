"""Magic erase: fill a painted area from its surroundings (classical, no generative model).

Measured in ../shared/reference/INPAINTING.md: PatchMatch (the `pypatchmatch` package) keeps texture
where every diffusion method leaves a smeared blob. So, per connected piece of the mask, on a crop
around it (the piece's box plus a 50% margin):
- thin strokes (at most ~6 px wide) → fast diffusion (OpenCV Telea), invisible at that width;
- small holes (≤ 40k px) → PatchMatch at full resolution;
- larger holes → PatchMatch on a copy downscaled so the hole is ≈ 40k px, upscaled, then the fine
  detail copied back: a nearest-neighbour field between the low-resolution fill and the known
  low-resolution surroundings (the fill is made of copied patches, so it is found exactly) tells
  where each filled pixel came from, and that place's high-frequency layer is added at full
  resolution. Without it a large fill would be a soft blur of the right colours.

Holes wider than a stroke are first split by what surrounds them (`segments.py`): when the ring
around the hole holds several materials (saucer, table, porcelain), each hole pixel is filled only
from the material it continues (a straight boundary between two materials is continued straight
across), so the table's grain never lands on the saucer. A hole that crosses several materials is
where a classical fill is weakest: the result's note then recommends a generative provider.

`fill_hole` is the shared engine that `expand.py` uses for new canvas margins as well.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.models import learned_inpaint
from pixora_ui.engine.ops import periodic, segments
from pixora_ui.engine.tools.registry import (
    Cancelled,
    ImageArray,
    Progress,
    ToolError,
    check_cancelled,
    never_cancelled,
    no_progress,
)

MaskArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]

FULL_RES_HOLE_PX = 20_000  # above this, fill at low resolution + detail (structure holds better)
THIN_STROKE_RADIUS = 5.0  # half-width (after growing the edge) under which diffusion is used: strokes ≤ ~6 px
_PATCH = 3  # pypatchmatch patch radius at full resolution; 3 was best on the textures
_PATCH_LOW = 5  # at low resolution larger patches keep structure (brick courses) at the same cost
_EDGE_GROW = 2  # px: brush edges are soft, the object's rim must go too
_PM_LOCK = threading.Lock()  # the native library keeps a global seed
_SEAM_SIGMA = 1.5  # px: the parts filled from different materials are blended over this


class EraseError(ToolError):
    """The erase cannot run as asked."""


def mask_from_array(mask: npt.NDArray[np.generic], height: int, width: int) -> MaskArray:
    """A boolean hole mask (white = remove) from a painted mask of any size, gray/RGB/RGBA."""
    m = np.asarray(mask)
    if m.ndim == 3:
        # A brush layer is usually colour on transparency: painted = opaque and bright.
        m = np.minimum(m[:, :, :3].max(axis=2), m[:, :, 3]) if m.shape[2] == 4 else m[:, :, :3].max(axis=2)
    if m.ndim != 2:
        raise EraseError("The mask must be an image.")
    if m.dtype == np.bool_:
        m = m.astype(np.uint8) * 255
    m = m.astype(np.uint8, copy=False)
    if m.shape != (height, width):
        m = cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(m > 127)


def _patchmatch(rgb: ImageArray, hole: MaskArray, patch: int = _PATCH, exclude: MaskArray | None = None) -> ImageArray:
    """PatchMatch fill of `hole`; pixels of `exclude` are never copied (pypatchmatch's global mask)."""
    import patchmatch  # noqa: PLC0415 - heavy native library, loaded only when erase runs

    global_mask = None
    if exclude is not None and exclude.any():
        global_mask = np.ascontiguousarray((exclude & ~hole).astype(np.uint8) * 255)
    with _PM_LOCK:
        patchmatch.set_random_seed(1)
        out = patchmatch.inpaint(
            np.ascontiguousarray(rgb),
            np.ascontiguousarray(hole.astype(np.uint8) * 255),
            global_mask=global_mask,
            patch_size=patch,
        )
    return np.asarray(out, dtype=np.uint8)


def _shifted_features(img: FloatArray, r: int) -> FloatArray:
    """Per pixel, its (2r+1)^2 neighbourhood stacked: H x W x C*(2r+1)^2."""
    h, w, _ = img.shape
    padded = cv2.copyMakeBorder(img, r, r, r, r, cv2.BORDER_REFLECT)
    parts = [padded[dy : dy + h, dx : dx + w] for dy in range(2 * r + 1) for dx in range(2 * r + 1)]
    return np.concatenate(parts, axis=2)


def _nnf(
    filled: ImageArray,
    hole: MaskArray,
    valid: MaskArray,
    *,
    iterations: int = 4,
    radius: int = 2,
    coherence: float = 0.8,
    init: IntArray | None = None,
    max_radius: int | None = None,
) -> tuple[IntArray, IntArray]:
    """Source (y, x) in `valid` whose patch best matches each hole pixel of `filled` (PatchMatch).

    Candidates that continue a neighbour's offset get their cost scaled by `coherence`, so copied
    pieces stay large and coherent (grass blades, brick courses) instead of a confetti of sources.
    """
    h, w = hole.shape
    feats = _shifted_features(filled.astype(np.float32), radius).reshape(h * w, -1)
    qy, qx = (a.astype(np.int32) for a in np.nonzero(hole))
    valid_flat = valid.reshape(-1)
    vidx = np.flatnonzero(valid_flat).astype(np.int32)
    rng = np.random.default_rng(7)
    if init is None:
        src = vidx[rng.integers(0, len(vidx), size=len(qy))]
    else:
        src = np.where(valid_flat[init], init, vidx[rng.integers(0, len(vidx), size=len(qy))]).astype(np.int32)
    q = np.take(feats, qy * w + qx, axis=0)

    def cost(idx: IntArray) -> FloatArray:
        d = np.take(feats, idx, axis=0)
        d -= q
        return np.asarray(np.einsum("ij,ij->i", d, d), dtype=np.float32)

    best = cost(src)
    field = np.arange(h * w, dtype=np.int32).reshape(h, w)

    def consider(cy: IntArray, cx: IntArray, scale: float = 1.0, use: MaskArray | None = None) -> None:
        nonlocal src, best
        idx = np.clip(cy, 0, h - 1) * w + np.clip(cx, 0, w - 1)
        ok = valid_flat[idx] & (idx != src)
        if use is not None:
            ok &= use
        if not ok.any():
            return
        c = np.full(len(idx), np.inf, dtype=np.float32)
        c[ok] = cost(idx)[ok] * scale
        better = c < best
        src = np.where(better, idx, src)
        best = np.where(better, c, best)

    for _ in range(iterations):
        field[qy, qx] = src
        sy, sx = src // w, src % w
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            ny, nx = np.clip(qy - dy, 0, h - 1), np.clip(qx - dx, 0, w - 1)
            n = field[ny, nx]
            inside = hole[ny, nx]
            consider(n // w + dy, n % w + dx, coherence, inside)
        search = max_radius or max(h, w) // 2
        while search >= 2:
            sy, sx = src // w, src % w
            consider(
                sy + rng.integers(-search, search + 1, size=len(sy)).astype(np.int32),
                sx + rng.integers(-search, search + 1, size=len(sx)).astype(np.int32),
            )
            search //= 2
    return (src // w).astype(np.int32), (src % w).astype(np.int32)


def fill_hole(
    rgb: ImageArray, hole: MaskArray, *, target_hole_px: int = 20_000, exclude: MaskArray | None = None
) -> ImageArray:
    """Fill `hole` in a (cropped) RGB image with PatchMatch, at low resolution + detail when large.

    `exclude` marks known pixels that must never be a source (a subject next to a new margin).
    """
    # OpenCV needs contiguous rows: crops of a larger photo are strided views.
    rgb = np.ascontiguousarray(rgb)
    hole = np.ascontiguousarray(hole)
    area = int(hole.sum())
    if area == 0:
        return rgb.copy()
    h, w = hole.shape
    if area <= target_hole_px:
        return _restore_contrast(_patchmatch(rgb, hole, exclude=exclude), hole)
    factor = math.sqrt(area / target_hole_px)
    lw, lh = max(8, round(w / factor)), max(8, round(h / factor))
    small = np.asarray(cv2.resize(rgb, (lw, lh), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    small_hole = cv2.resize(hole.astype(np.uint8), (lw, lh), interpolation=cv2.INTER_AREA) > 0
    small_hole = cv2.dilate(small_hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    small_exclude = None
    if exclude is not None:
        small_exclude = cv2.resize(exclude.astype(np.uint8), (lw, lh), interpolation=cv2.INTER_AREA) > 0
    low = _patchmatch(small, small_hole, _PATCH_LOW, exclude=small_exclude)
    # Sources must be clear of the hole (and of excluded pixels) by the low-pass footprint, or the
    # object's detail comes back.
    blocked = small_hole if small_exclude is None else small_hole | small_exclude
    valid = cv2.dilate(blocked.astype(np.uint8), np.ones((7, 7), np.uint8)) == 0
    ys, xs = np.nonzero(hole)
    out = rgb.copy()
    if valid.sum() < 16:
        out[ys, xs] = np.asarray(cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC))[ys, xs]
        return out
    sy, sx = _nnf(low, small_hole, valid)
    fy = np.zeros((lh, lw), dtype=np.int32)
    fx = np.zeros((lh, lw), dtype=np.int32)
    fy[small_hole], fx[small_hole] = sy, sx
    # Work on the hole's bounding box only (upsampling the whole crop would dominate at 12 MP).
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    base = np.asarray(cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC))[y0:y1, x0:x1]
    lowpass = np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC))
    ly = np.minimum((ys * lh) // h, lh - 1)
    lx = np.minimum((xs * lw) // w, lw - 1)
    src_y = np.clip(ys + np.rint((fy[ly, lx] - ly) * (h / lh)).astype(np.int32), 0, h - 1)
    src_x = np.clip(xs + np.rint((fx[ly, lx] - lx) * (w / lw)).astype(np.int32), 0, w - 1)
    # The base keeps the fill's coherent structure; the source's own fine detail (original minus
    # its low-pass) is added on top, so the fill is as sharp as its surroundings.
    detail = rgb[src_y, src_x].astype(np.int16) - lowpass[src_y, src_x].astype(np.int16)
    detail[hole[src_y, src_x] if exclude is None else hole[src_y, src_x] | exclude[src_y, src_x]] = 0
    filled = base[ys - y0, xs - x0].astype(np.int16) + detail
    out[ys, xs] = np.clip(filled, 0, 255).astype(np.uint8)
    return _restore_contrast(out, hole)


def _energy(gray: FloatArray, where: MaskArray) -> float:
    gx = np.abs(np.diff(gray, axis=1))[:-1]
    gy = np.abs(np.diff(gray, axis=0))[:, :-1]
    sel = where[:-1, :-1]
    return float((gx + gy)[sel].mean()) if sel.any() else 0.0


def _restore_contrast(filled: ImageArray, hole: MaskArray) -> ImageArray:
    """PatchMatch's voting averages patches and softens the fill: give back the surroundings' detail energy."""
    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0) & ~hole
    if ring.sum() < 64:
        return filled
    f = filled.astype(np.float32)
    gray = f.mean(axis=2)
    e_hole = _energy(gray, hole)
    if e_hole <= 0:
        return filled
    gain = min(1.35, max(1.0, _energy(gray, ring) / e_hole))
    if gain <= 1.01:
        return filled
    high = f - cv2.GaussianBlur(f, (0, 0), 2.0)
    f[hole] += (gain - 1.0) * high[hole]
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class Erased:
    image: ImageArray
    note: str
    materials: int  # the most materials one painted piece crossed


PLAIN_NOTE = "Filled from the surroundings."
MODEL_NOTE = "Filled by the inpainting model from the surroundings."
SEVERAL_MATERIALS_NOTE = (
    "The area crossed several different surfaces; each part was continued from its own side. To redraw what "
    "was hidden behind it (an edge, a shadow, an object), a generative provider does better."
)


def fill_piece(rgb: ImageArray, hole: MaskArray) -> tuple[ImageArray, int]:
    """Fill one hole wider than a stroke, each material's part from that material only.

    Returns the filled crop and how many materials the hole crosses. A regular pattern (bricks, tiles)
    is continued by its own period instead, so its rows run straight through the hole.
    """
    parts = segments.split_hole(rgb, hole)
    regular = periodic.fill_regular(rgb, hole)
    if regular is not None:
        out, rest = regular
        filled = fill_hole(out, rest, target_hole_px=FULL_RES_HOLE_PX) if rest.any() else out
        return filled, max(1, len(parts.major))
    if len(parts.major) <= 1:
        return fill_hole(rgb, hole, target_hole_px=FULL_RES_HOLE_PX), 1
    total = np.zeros(rgb.shape, dtype=np.float32)
    weight = np.zeros(hole.shape, dtype=np.float32)
    for material in parts.major:
        own = parts.known == material
        part = parts.hole == material
        # A material with less source than hole to fill would only repeat itself: let it borrow.
        exclude = ~own & ~hole if own.sum() >= part.sum() else None
        # Only around this material's part: the fill's cost grows with the hole it is given.
        box = _around(part, hole.shape)
        filled = fill_hole(
            rgb[box], hole[box], target_hole_px=FULL_RES_HOLE_PX, exclude=None if exclude is None else exclude[box]
        )
        w = cv2.GaussianBlur(part.astype(np.float32), (0, 0), _SEAM_SIGMA)[box]
        total[box] += filled.astype(np.float32) * w[:, :, None]
        weight[box] += w
    out = rgb.copy()
    blended = total[hole] / np.maximum(weight[hole], 1e-6)[:, None]
    out[hole] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out, len(parts.major)


def _around(part: MaskArray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The part's box grown by its own size (at least 24 px): the sources PatchMatch needs, clipped."""
    ys, xs = np.nonzero(part)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    my, mx = max(24, y1 - y0), max(24, x1 - x0)
    return slice(max(0, y0 - my), min(shape[0], y1 + my)), slice(max(0, x0 - mx), min(shape[1], x1 + mx))


def erase(
    image: ImageArray,
    mask: npt.NDArray[np.generic],
    *,
    progress: Progress = no_progress,
    cancelled: Cancelled = never_cancelled,
) -> ImageArray:
    """Remove the white area of `mask` from an RGB/RGBA image; alpha is kept as it is."""
    return erase_with_note(image, mask, progress=progress, cancelled=cancelled).image


def erase_with_note(
    image: ImageArray,
    mask: npt.NDArray[np.generic],
    *,
    progress: Progress = no_progress,
    cancelled: Cancelled = never_cancelled,
    models_dir: Path | None = None,
) -> Erased:
    """`erase`, with the note for the user (a generative provider is recommended across materials).

    When the operator installed an inpainting model (LaMa or MI-GAN) it fills every piece wider than a
    stroke; if it fails, the classical fill does.
    """
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise EraseError("Magic erase needs an RGB or RGBA image.")
    height, width = image.shape[:2]
    hole = mask_from_array(mask, height, width)
    if not hole.any():
        raise EraseError("Paint over what you want to remove first: the mask is empty.")
    if hole.mean() > 0.6:
        raise EraseError("The mask covers most of the photo: there is too little left to fill it from.")
    hole = cv2.dilate(hole.astype(np.uint8), np.ones((2 * _EDGE_GROW + 1,) * 2, np.uint8)) > 0
    out = image.copy()
    rgb = np.ascontiguousarray(image[:, :, :3]).copy()
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    pieces = sorted(range(1, count), key=lambda i: -int(stats[i, cv2.CC_STAT_AREA]))
    total = float(sum(int(stats[i, cv2.CC_STAT_AREA]) for i in pieces)) or 1.0
    done = 0.0
    materials = 1
    models = models_dir if models_dir is not None else learned_inpaint.default_models_dir()
    use_model = learned_inpaint.available(models)
    used_model = False
    for index in pieces:
        check_cancelled(cancelled)
        progress(done / total, f"Erasing: piece {pieces.index(index) + 1} of {len(pieces)}")
        x, y, w, h, area = (int(v) for v in stats[index])
        # A margin as large as the piece: thin rings of source make PatchMatch repeat itself.
        mx, my = max(24, w), max(24, h)
        x0, y0, x1, y1 = max(0, x - mx), max(0, y - my), min(width, x + w + mx), min(height, y + h + my)
        piece = labels[y0:y1, x0:x1] == index
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        radius = float(cv2.distanceTransform(piece.astype(np.uint8), cv2.DIST_L2, 3).max())
        learned = None
        if use_model and radius > THIN_STROKE_RADIUS:
            # The whole photo: the model's window may reach beyond this crop for context.
            learned = learned_inpaint.fill(rgb, labels == index, models)
        if learned is not None:
            used_model = True
            filled = learned[y0:y1, x0:x1]
        elif radius <= THIN_STROKE_RADIUS:
            filled = np.asarray(cv2.inpaint(crop, piece.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA), dtype=np.uint8)
        else:
            filled, crossed = fill_piece(crop, piece)
            materials = max(materials, crossed)
        rgb[y0:y1, x0:x1] = filled
        done += area
    out[:, :, :3] = rgb
    progress(1.0, "Erased")
    note = SEVERAL_MATERIALS_NOTE if materials > 1 else MODEL_NOTE if used_model else PLAIN_NOTE
    return Erased(out, note, materials)
