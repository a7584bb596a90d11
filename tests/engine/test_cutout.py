"""Remove background on real photos: subject kept, corners removed, pro edges smoother on hair."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest

from pixora_ui.engine import isnet
from pixora_ui.engine.registry import ToolCancelled, ToolResult, never_cancelled, no_progress
from pixora_ui.engine.tools import get_registry
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


def edge_profile(alpha: np.ndarray) -> tuple[float, float]:
    """Share of pixels on a graded (partial) alpha, and the mean alpha step across the edge.

    A smooth edge goes from 0 to 255 over several pixels (more graded pixels, smaller steps); a
    hard or stair-stepped one jumps.
    """
    edge = (alpha > 0) & (alpha < 255)
    gy, gx = np.gradient(alpha.astype(np.float32))
    return float(edge.mean()), float(np.hypot(gx, gy)[edge].mean())


def test_pro_edges_are_smoother_than_standard_on_hair(photo: Callable[[str], np.ndarray]) -> None:
    # The astronaut's hair, at the photo's own size and at 4x (2048 px).
    for scale in (1, 4):
        image = photo("astronaut")
        if scale > 1:
            image = cv2.resize(image, (512 * scale, 512 * scale), interpolation=cv2.INTER_CUBIC)
        hair = (slice(0, 100 * scale), slice(150 * scale, 275 * scale))  # top of the head
        standard = run(image, mode="standard").image[:, :, 3][hair]
        pro = run(image, mode="pro").image[:, :, 3][hair]
        graded_standard, step_standard = edge_profile(standard)
        graded_pro, step_pro = edge_profile(pro)
        assert graded_pro > graded_standard, scale
        assert step_pro < 0.9 * step_standard, scale
        # Both keep the head and drop the sky above it.
        assert standard[-20 * scale :, 40 * scale : 90 * scale].mean() > 240
        assert pro[-20 * scale :, 40 * scale : 90 * scale].mean() > 240
        assert standard[: 5 * scale].max() == 0 and pro[: 5 * scale].max() == 0


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
