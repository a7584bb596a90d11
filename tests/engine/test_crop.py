"""Smart crop: exact ratios, the astronaut's face kept, subject framing and the fallbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pixora_ui.engine.registry import ParamError, ToolResult, never_cancelled, no_progress
from pixora_ui.engine.tools import get_registry
from pixora_ui.engine.tools_crop import RATIOS, crop_size
from tests.engine.conftest import needs_faces, needs_isnet


def run(image: np.ndarray, **raw: Any) -> ToolResult:
    tool = get_registry().get("smart-crop")
    return tool.run(image, tool.validate(raw), no_progress, never_cancelled)


@pytest.mark.parametrize("size", [(512, 512), (451, 300), (600, 400), (640, 427), (4000, 3000), (1001, 997)])
@pytest.mark.parametrize("ratio", RATIOS)
def test_crop_size_honours_ratio_to_the_pixel(size: tuple[int, int], ratio: str) -> None:
    rw, rh = (int(v) for v in ratio.split(":"))
    w, h = crop_size(size[0], size[1], rw, rh)
    assert w * rh == h * rw, (w, h)
    assert w <= size[0] and h <= size[1]
    assert w >= size[0] - rw or h >= size[1] - rh  # as large as the image allows


@pytest.mark.models
@needs_faces
def test_face_crop_contains_the_astronauts_face(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("astronaut")
    for ratio in ("9:16", "16:9", "1:1", "4:5"):
        result = run(image, focus="face", ratio=ratio)
        assert result.note == ""
        assert result.box is not None
        x, y, w, h = result.box
        rw, rh = (int(v) for v in ratio.split(":"))
        assert w * rh == h * rw
        assert result.image.shape[:2] == (h, w)
        # The face sits at about x 180-270, y 55-180 of the 512 px photo.
        assert x <= 175 and x + w >= 275 and y <= 50 and y + h >= 185, (ratio, result.box)
    tall = run(image, focus="face", ratio="9:16").box
    assert tall is not None
    assert tall[0] < 225 - 0.3 * tall[2]  # the face is centred horizontally, not at an edge


@pytest.mark.models
@needs_faces
def test_face_crop_to_exact_size(photo: Callable[[str], np.ndarray]) -> None:
    result = run(photo("astronaut"), focus="face", width=200, height=300)
    assert result.image.shape == (300, 200, 3)
    assert result.box is not None
    _x, _y, w, h = result.box
    assert w * 3 == h * 2


@pytest.mark.models
@needs_faces
@needs_isnet
def test_no_face_falls_back_to_the_subject(photo: Callable[[str], np.ndarray]) -> None:
    result = run(photo("coffee"), focus="face", ratio="1:1")
    assert "No face was found" in result.note
    assert result.box is not None
    x, _y, w, h = result.box
    assert (w, h) == (400, 400)
    assert 60 <= x <= 140  # the cup and saucer are centred in the frame


@pytest.mark.models
@needs_isnet
def test_subject_crop_frames_the_rocket(photo: Callable[[str], np.ndarray]) -> None:
    result = run(photo("rocket"), focus="subject", ratio="9:16")
    assert result.box is not None
    x, _y, w, h = result.box
    assert w * 16 == h * 9
    assert x <= 300 and x + w >= 340  # the rocket body stands at about x 300-340


def test_subject_crop_without_models_uses_saliency(no_models: None, photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    result = run(image, focus="face", ratio="3:4")
    assert "face detector is not installed" in result.note
    assert result.box is not None
    x, _y, w, h = result.box
    assert (w, h) == (300, 400)
    assert 50 <= x <= 250


def test_width_and_height_go_together(photo: Callable[[str], np.ndarray]) -> None:
    with pytest.raises(ParamError, match="both a width and a height"):
        run(photo("coffee"), width=100)
