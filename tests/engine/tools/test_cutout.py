"""Remove background on real photos: subject kept, corners removed, pro edges smoother on hair."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.models import isnet
from pixora_ui.engine.ops import matting, trimap
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import ToolCancelled, ToolResult, never_cancelled, no_progress
from tests.engine.conftest import needs_isnet

pytestmark = [pytest.mark.models, needs_isnet]

# (photo, a point on the subject (x, y), corners that are background)
SUBJECTS = [
    ("astronaut", (250, 250), ("top-left", "top-right")),
    ("chelsea", (220, 150), ("top-right",)),
    ("coffee", (300, 200), ("top-left", "top-right", "bottom-left", "bottom-right")),
    ("rocket", (320, 250), ("top-right",)),
]


def run(image: np.ndarray, **raw: Any) -> ToolResult:
    tool = get_registry().get("remove-bg")
    return tool.run(image, tool.validate(raw), no_progress, never_cancelled)


def corner(alpha: np.ndarray, name: str, size: int = 24) -> np.ndarray:
    top = name.startswith("top")
    left = name.endswith("left")
    rows = slice(0, size) if top else slice(-size, None)
    cols = slice(0, size) if left else slice(-size, None)
    return alpha[rows, cols]


@pytest.mark.parametrize(("name", "point", "corners"), SUBJECTS)
@pytest.mark.parametrize("mode", ["standard", "pro"])
def test_subject_kept_and_corners_removed(
    photo: Callable[[str], np.ndarray], name: str, point: tuple[int, int], corners: tuple[str, ...], mode: str
) -> None:
    image = photo(name)
    result = run(image, mode=mode)
    assert result.image.shape == (*image.shape[:2], 4)
    assert result.format_hint == "png"
    alpha = result.image[:, :, 3]
    x, y = point
    patch = alpha[y - 5 : y + 5, x - 5 : x + 5]
    assert patch.mean() > 245 and patch.min() > 200, "the subject was cut into"
    for which in corners:
        assert corner(alpha, which).max() <= 8, f"{which} corner kept"
    # The subject's colours are the photo's where it is opaque.
    opaque = alpha == 255
    assert np.array_equal(result.image[:, :, :3][opaque], image[opaque])


# Pixels of chelsea that are only cat (drawn by hand, ~25 px clear of every edge and of the ear).
CAT_ONLY = np.array(
    [(40, 0), (330, 0), (355, 40), (345, 110), (350, 200), (340, 299), (0, 299), (0, 180), (20, 130), (40, 60)],
    dtype=np.int32,
)


def cat_only_mask() -> np.ndarray:
    mask = np.zeros((300, 451), dtype=np.uint8)
    cv2.fillPoly(mask, [CAT_ONLY], 1)
    return mask > 0


@pytest.mark.parametrize("mode", ["standard", "pro"])
def test_the_subject_is_solid_inside(photo: Callable[[str], np.ndarray], mode: str) -> None:
    # ISNet leaves the cat's chest and cheeks at 0.6-0.9: before the trimap-like pinning 36 % of
    # these pixels were see-through (alpha < 0.95); rembg with alpha matting leaves 6.5-7.4 %.
    alpha = run(photo("chelsea"), mode=mode).image[:, :, 3]
    see_through = float((alpha[cat_only_mask()] < 0.95 * 255).mean())
    assert see_through < 0.05, see_through


def test_pro_matting_goes_to_fur_and_not_to_a_hard_rim(photo: Callable[[str], np.ndarray]) -> None:
    chelsea, coffee = photo("chelsea"), photo("coffee")
    fur = (slice(100, 300), slice(330, 451))  # the cat's cheek against a blurred background
    rim = (slice(150, 300), slice(40, 150))  # the saucer's left rim against wood grain
    cat_weight = trimap.soft_edge_weight(trimap.solidify(isnet.subject_alpha(chelsea)[0]))
    saucer_weight = trimap.soft_edge_weight(trimap.solidify(isnet.subject_alpha(coffee)[0]))
    assert cat_weight[fur].max() > 0.9
    assert saucer_weight[rim].max() < 0.05
    # So pro refines the fur, and on the rim it is exactly the standard edge.
    cat_standard = run(chelsea, mode="standard").image[:, :, 3][fur].astype(int)
    cat_pro = run(chelsea, mode="pro").image[:, :, 3][fur].astype(int)
    assert np.abs(cat_pro - cat_standard).mean() > 1.0
    rim_pro = run(coffee, mode="pro").image[rim][:, :, 3]
    assert np.array_equal(rim_pro, run(coffee, mode="standard").image[rim][:, :, 3])


def test_edge_colours_are_freed_of_the_old_background() -> None:
    # A synthetic soft edge with a known answer: orange texture over green, a 10 px alpha ramp.
    rng = np.random.default_rng(7)
    h, w = 160, 200
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    alpha = np.clip((110.0 - np.hypot(yy - 80, xx - 40)) / 10.0, 0.0, 1.0)
    fg = np.dstack([230 + 0 * xx, 120 + 40 * np.sin(xx / 7), 40 + 0 * xx]).astype(np.float32)
    fg += rng.normal(0, 6, fg.shape).astype(np.float32)
    bg = np.dstack([30 + 0 * xx, 170 + 30 * np.cos(yy / 9), 60 + 0 * xx]).astype(np.float32)
    image = np.clip(alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg + 0.5, 0, 255).astype(np.uint8)
    a8 = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero((a8 > 0) & (a8 < 255))
    rgba = matting.cutout_rgba(image, matting.Matte(a8, ys, xs))
    band = (alpha > 0.2) & (alpha < 0.9)  # where the colour is visible and mixed
    error = np.abs(rgba[:, :, :3].astype(np.float32) - fg)[band].mean()
    before = np.abs(image.astype(np.float32) - fg)[band].mean()
    assert error < 0.35 * before, (error, before)
    assert np.array_equal(rgba[:, :, 3], a8)


def test_mask_only_and_crop_to_subject(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    full = run(image)
    mask = run(image, output="mask")
    assert mask.image.shape == (400, 600, 3)
    assert np.array_equal(mask.image[:, :, 0], full.image[:, :, 3])
    cropped = run(image, crop=True, margin=0)
    assert cropped.box is not None
    _x, _y, w, h = cropped.box
    assert cropped.image.shape == (h, w, 4)
    assert w < 600 and h < 400
    assert cropped.image[:, :, 3].max() == 255
    with_margin = run(image, crop=True, margin=10).box
    assert with_margin is not None
    assert with_margin[2] > w or with_margin[0] == 0


def test_existing_transparency_is_kept(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    rgba = np.dstack([image, np.full(image.shape[:2], 255, dtype=np.uint8)])
    rgba[:, :300, 3] = 0  # left half already cut away
    alpha = run(rgba).image[:, :, 3]
    assert alpha[:, :300].max() == 0
    assert alpha[200, 400] == 255


def test_cancel_between_steps(photo: Callable[[str], np.ndarray]) -> None:
    tool = get_registry().get("remove-bg")
    with pytest.raises(ToolCancelled):
        tool.run(photo("chelsea"), tool.validate({}), no_progress, lambda: True)


def test_progress_is_reported(photo: Callable[[str], np.ndarray]) -> None:
    seen: list[tuple[float, str]] = []
    tool = get_registry().get("remove-bg")
    tool.run(photo("chelsea"), tool.validate({"mode": "pro"}), lambda f, m: seen.append((f, m)), never_cancelled)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] < 1
    assert any("hair" in m for _, m in seen)


def test_model_is_loaded_once_and_reused(photo: Callable[[str], np.ndarray]) -> None:
    assert isnet.warm_up()
    session = isnet._ISNET.get()
    run(photo("chelsea"))
    assert isnet._ISNET.get() is session


def test_closed_form_keeps_the_network_edge_when_the_band_fills_the_crop() -> None:
    # A thin subject whose edge band covers every pixel of its side: no pure background to anchor
    # the matting to (pymatting raised "Trimap did not contain background values" on a 160 px photo).
    rng = np.random.default_rng(3)
    guide = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    alpha = np.zeros((40, 40), dtype=np.float32)
    alpha[:, 14:26] = 1.0
    result = matting.closed_form_alpha(guide, alpha, band_radius=10)
    assert result.shape == alpha.shape
    assert np.array_equal(result, alpha)


def test_pro_cut_out_of_a_small_photo() -> None:
    small = cv2.resize(data.astronaut(), (160, 160), interpolation=cv2.INTER_AREA)
    result = run(small, mode="pro")
    assert result.image.shape == (160, 160, 4)
    assert result.image[:, :, 3].max() == 255
