"""Free basic edits on real photos: exact sizes, exact turns, colour changes in the right direction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import ParamError, ToolResult, never_cancelled, no_progress


def run(tool: str, image: np.ndarray, **raw: Any) -> ToolResult:
    chosen = get_registry().get(tool)
    assert chosen.costs_credit is False
    return chosen.run(image, chosen.validate(raw), no_progress, never_cancelled)


def test_crop_returns_box(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    result = run("crop", image, x=10, y=20, width=100, height=50)
    assert result.box == (10, 20, 100, 50)
    assert np.array_equal(result.image, image[20:70, 10:110])
    assert run("crop", image, x=500, y=300).image.shape == (100, 100, 3)  # 0 = to the edge
    with pytest.raises(ParamError, match="outside the 600x400 image"):
        run("crop", image, x=600, y=0)


@pytest.mark.parametrize(
    ("mode", "size", "expected"),
    [("fit", (300, 300), (200, 300)), ("fill", (300, 300), (300, 300)), ("pad", (300, 300), (300, 300))],
)
def test_resize_modes(
    photo: Callable[[str], np.ndarray], mode: str, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    result = run("resize", photo("coffee"), width=size[0], height=size[1], mode=mode, color="#ff0000")
    assert result.image.shape[:2] == expected
    if mode == "pad":
        assert tuple(result.image[0, 0]) == (255, 0, 0)  # a 600x400 photo padded above and below
        assert tuple(result.image[150, 150]) != (255, 0, 0)


def test_resize_one_side_keeps_proportions(photo: Callable[[str], np.ndarray]) -> None:
    assert run("resize", photo("coffee"), width=1200).image.shape == (800, 1200, 3)
    assert run("resize", photo("coffee"), height=100).image.shape == (100, 150, 3)
    with pytest.raises(ParamError, match="Give a width, a height or both"):
        run("resize", photo("coffee"))


def test_rotate_quarter_turns_are_exact(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("chelsea")
    assert np.array_equal(run("rotate", image, angle=90).image, np.rot90(image))
    assert np.array_equal(run("rotate", image, angle=-90).image, np.rot90(image, 3))
    assert np.array_equal(run("rotate", image, angle=180).image, image[::-1, ::-1])


def test_rotate_any_angle_enlarges_canvas(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("chelsea")
    result = run("rotate", image, angle=30, color="#00ff00")
    h, w = image.shape[:2]
    assert result.image.shape[:2] == (round(w * 0.5 + h * np.cos(np.pi / 6)), round(w * np.cos(np.pi / 6) + h * 0.5))
    assert tuple(result.image[0, 0]) == (0, 255, 0)
    clear = run("rotate", image, angle=30, transparent=True)
    assert clear.image.shape[2] == 4 and clear.image[0, 0, 3] == 0
    assert clear.format_hint == "png"


def test_flip(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("rocket")
    assert np.array_equal(run("flip", image).image, image[:, ::-1])
    assert np.array_equal(run("flip", image, direction="vertical").image, image[::-1])


def test_convert_sets_format_and_quality(photo: Callable[[str], np.ndarray]) -> None:
    result = run("convert", photo("coffee"), format="webp", quality=70)
    assert result.format_hint == "webp" and result.extras["quality"] == 70
    rgba = np.dstack([photo("coffee"), np.full((400, 600), 128, dtype=np.uint8)])
    assert "no transparency" in run("convert", rgba, format="jpeg").note


def test_adjust_defaults_change_nothing(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("astronaut")
    assert np.array_equal(run("adjust", image).image, image)


def test_adjustments_go_the_right_way(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    base = image.astype(float)
    assert run("adjust", image, exposure=1).image.mean() > base.mean() + 20
    assert run("adjust", image, brightness=-50).image.mean() < base.mean() - 10
    assert run("adjust", image, contrast=50).image.std() > base.std() * 1.2
    assert run("adjust", image, saturation=-100).image.std(axis=2).mean() < 1.5
    warm = run("adjust", image, warmth=60).image.astype(float)
    assert warm[:, :, 0].mean() > base[:, :, 0].mean() and warm[:, :, 2].mean() < base[:, :, 2].mean()
    bw = run("adjust", image, black_white=True).image
    assert np.abs(bw[:, :, 0].astype(int) - bw[:, :, 2]).max() <= 1
    sepia = run("adjust", image, sepia=True).image.astype(float)
    assert sepia[:, :, 0].mean() > sepia[:, :, 1].mean() > sepia[:, :, 2].mean()
    sharp = run("adjust", image, sharpen=100).image.astype(float)
    assert np.abs(np.diff(sharp, axis=1)).mean() > np.abs(np.diff(base, axis=1)).mean()


def test_adjust_keeps_alpha(photo: Callable[[str], np.ndarray]) -> None:
    alpha = np.tile(np.arange(600, dtype=np.uint16) % 256, (400, 1)).astype(np.uint8)
    rgba = np.dstack([photo("coffee"), alpha])
    result = run("adjust", rgba, exposure=0.5, saturation=20)
    assert np.array_equal(result.image[:, :, 3], alpha)
    assert result.format_hint == "png"


def test_out_of_range_parameters_are_refused() -> None:
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(ParamError, match="Exposure \\(EV\\) must be at most 3"):
        run("adjust", image, exposure=5)
    with pytest.raises(ParamError, match="Mode must be one of fit, fill, pad"):
        run("resize", image, width=2, mode="stretch")
    with pytest.raises(ParamError, match="larger than the 100 MP output limit"):
        run("resize", image, width=20000, height=20000, mode="fill")
