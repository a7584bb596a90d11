"""Materials around a hole, so magic erase fills each part of it from its own surface.

A hole that crosses a saucer's rim has saucer on one side and table on the other; one PatchMatch
over the whole hole copies whichever patches fit best, so table grain lands on the saucer and the
cup's porcelain spills out. Here the known pixels next to the hole are grouped into materials
(SLIC superpixels on a slightly blurred Lab copy, adjacent superpixels of similar mean colour
merged), and every hole pixel is given the material of the nearest known pixel on the ring around
the hole, with the straight boundaries between materials continued across the hole as lines. Each
material's part of the hole is then filled from that material only.

Fine texture (grass blades, brick courses, gravel) is blurred away before grouping and the merge
threshold is loose enough that one texture stays one material: plain textures are filled exactly as
before.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.tools.registry import ImageArray

MaskArray = npt.NDArray[np.bool_]
LabelArray = npt.NDArray[np.int32]

MERGE_DISTANCE = 12.0  # Lab distance under which neighbouring superpixels are one material
MAJOR_SHARE = 0.08  # a material must hold this share of the ring to get a part of the hole
MAX_MATERIALS = 5
_BLUR_SIGMA = 2.5  # px: texture finer than this does not split a surface into materials
_SUPERPIXEL_PX = 300  # mean superpixel area (≈ 17 x 17 px)
_LABEL_MAX_PX = 100_000
NO_MATERIAL = -1


@dataclass(frozen=True, slots=True)
class HoleParts:
    """The materials around a hole and which of them each hole pixel continues."""

    known: LabelArray  # material of every known pixel (NO_MATERIAL inside the hole)
    hole: LabelArray  # material each hole pixel is filled from (NO_MATERIAL outside it)
    major: tuple[int, ...]  # materials that own a part of the hole, largest share first
    shares: tuple[float, ...]  # their shares of the ring around the hole


def ring_around(hole: MaskArray, width: int) -> MaskArray:
    """Known pixels within `width` px of the hole."""
    size = 2 * width + 1
    grown = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))) > 0
    return np.asarray(grown & ~hole)


def material_labels(rgb: ImageArray, known: MaskArray) -> LabelArray:
    """Materials of the known pixels: superpixels merged by mean colour (NO_MATERIAL elsewhere)."""
    from skimage import color, segmentation  # noqa: PLC0415 - optional dev-only dependency, benchmarks only

    h, w = known.shape
    # Superpixels cost several us a pixel: label a copy of at most ~100k px (a 12 MP crop would take seconds).
    factor = max(1.0, float(np.sqrt(h * w / _LABEL_MAX_PX)))
    small_rgb, small_known = rgb, known
    if factor > 1.0:
        size = (max(8, round(w / factor)), max(8, round(h / factor)))
        small_rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        small_known = cv2.resize(known.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    lab = color.rgb2lab(cv2.GaussianBlur(small_rgb, (0, 0), _BLUR_SIGMA))
    segments = max(4, int(small_known.sum()) // _SUPERPIXEL_PX)
    superpixels = segmentation.slic(
        lab,
        n_segments=segments,
        compactness=12,
        max_num_iter=5,
        mask=small_known,
        start_label=1,
        convert2lab=False,
        channel_axis=-1,
    )
    merged = _merge_similar(np.asarray(superpixels, dtype=np.int32), lab.astype(np.float32))
    merged[~small_known] = NO_MATERIAL
    if factor > 1.0:
        merged = np.asarray(cv2.resize(merged, (w, h), interpolation=cv2.INTER_NEAREST), dtype=np.int32)
        # Known pixels whose low-resolution twin fell in the hole take their nearest labelled neighbour.
        labelled = known & (merged != NO_MATERIAL)
        missing = known & ~labelled
        if missing.any() and labelled.any():
            merged = _spread(merged, labelled, _nearest_seed(labelled), missing)
        merged[~known] = NO_MATERIAL
    return merged


def _merge_similar(superpixels: LabelArray, lab: npt.NDArray[np.float32]) -> LabelArray:
    """Join touching superpixels whose mean colours are within MERGE_DISTANCE (union-find over edges)."""
    count = int(superpixels.max()) + 1
    sums = np.stack([np.bincount(superpixels.ravel(), lab[:, :, c].ravel(), count) for c in range(3)], axis=1)
    sizes = np.maximum(np.bincount(superpixels.ravel(), minlength=count), 1)
    means = sums / sizes[:, None]
    pairs = np.concatenate(
        [
            np.stack([superpixels[:, :-1].ravel(), superpixels[:, 1:].ravel()], axis=1),
            np.stack([superpixels[:-1].ravel(), superpixels[1:].ravel()], axis=1),
        ]
    )
    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & (pairs.min(axis=1) > 0)]
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    close = np.linalg.norm(means[pairs[:, 0]] - means[pairs[:, 1]], axis=1) < MERGE_DISTANCE
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs[close].tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(i) for i in range(count)], dtype=np.int32)
    return roots[superpixels]


def split_hole(rgb: ImageArray, hole: MaskArray) -> HoleParts:
    """Which material each hole pixel continues (nearest material on the ring, straight boundaries kept)."""
    known = material_labels(rgb, ~hole)
    radius = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3).max())
    ring = ring_around(hole, max(4, min(24, round(radius / 3))))
    ids, counts = np.unique(known[ring], return_counts=True)
    order = np.argsort(-counts)
    total = float(counts.sum()) or 1.0
    major = tuple(int(ids[i]) for i in order if counts[i] / total >= MAJOR_SHARE and ids[i] != NO_MATERIAL)
    major = major[:MAX_MATERIALS]  # each costs a full fill; smaller ones go to their nearest neighbour
    shares = tuple(float(counts[order[k]] / total) for k in range(len(major)))
    parts = np.full(hole.shape, NO_MATERIAL, dtype=np.int32)
    if len(major) <= 1:
        parts[hole] = major[0] if major else NO_MATERIAL
        return HoleParts(known, parts, major, shares)
    seeds = ring & np.isin(known, major)
    # Every hole pixel takes the material of its nearest seed pixel on the ring: a straight boundary
    # between two materials meets the hole at two points and is continued between them.
    nearest = _nearest_seed(seeds)
    parts = _spread(parts, seeds, nearest, hole, source=known)
    return HoleParts(known, parts, major, shares)


def _nearest_seed(seeds: MaskArray) -> LabelArray:
    """Per pixel, the index of its nearest seed pixel (OpenCV numbers each seed pixel)."""
    _, nearest = cv2.distanceTransformWithLabels(
        (~seeds).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    return np.asarray(nearest, dtype=np.int32)


def _spread(
    labels: LabelArray, seeds: MaskArray, nearest: LabelArray, targets: MaskArray, source: LabelArray | None = None
) -> LabelArray:
    """Give each target pixel the label of its nearest seed (`nearest` from distanceTransformWithLabels)."""
    values = labels if source is None else source
    by_seed = np.full(int(nearest.max()) + 1, NO_MATERIAL, dtype=np.int32)
    by_seed[nearest[seeds]] = values[seeds]
    out = labels.copy()
    out[targets] = by_seed[nearest[targets]]
    return out
