"""Smart crop: exact ratios, the astronaut's face kept, subject framing and the fallbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pixora_ui.engine.models.faces import detect_faces
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.crop import RATIOS, crop_size
from pixora_ui.engine.tools.registry import ParamError, ToolError, ToolResult, never_cancelled, no_progress
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
    for ratio in ("9:16", "16:9", "4:5"):  # 1:1 of this square photo is refused (test below)
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


@pytest.mark.models
@needs_faces
@pytest.mark.parametrize("ratio", ["4:5", "1:1", "16:9"])
def test_headshot_zooms_to_the_face_with_natural_margins(photo: Callable[[str], np.ndarray], ratio: str) -> None:
    image = photo("astronaut")
    face = detect_faces(image)[0]
    result = run(image, focus="headshot", ratio=ratio)
    assert result.box is not None
    x, y, w, h = result.box
    rw, rh = (int(v) for v in ratio.split(":"))
    assert w * rh == h * rw and result.image.shape[:2] == (h, w)
    # Zoomed in: far smaller than the photo (the "faces" framing of 1:1 was the whole photo) ...
    assert w * h < 0.6 * 512 * 512
    # ... the face fills a headshot's share of the height, and the whole head with margins stays in.
    assert 0.3 < face.h / h < 0.5, face.h / h
    assert x <= face.x - 0.2 * face.w and x + w >= face.x + 1.2 * face.w
    assert y <= max(0.0, face.y - 0.3 * face.h) and y + h >= face.y + 1.5 * face.h
    # The eyes sit in the upper half.
    assert face.eyes_y - y < 0.5 * h


@pytest.mark.parametrize(("focus", "ratio"), [("subject", "1:1"), ("face", "1:1")])
def test_a_crop_that_changes_nothing_is_refused(
    photo: Callable[[str], np.ndarray], focus: str, ratio: str, no_models: None
) -> None:
    # Without the models both fall back to saliency, which still spans the square photo: the crop
    # would return it unchanged, so the tool refuses (the runner then fails the job and refunds).
    with pytest.raises(ToolError, match="This crop would not change the photo"):
        run(photo("astronaut"), focus=focus, ratio=ratio)
    with pytest.raises(ToolError, match="would not change"):
        run(photo("astronaut"), focus=focus, width=512, height=512)
    assert run(photo("astronaut"), focus=focus, width=256, height=256).image.shape == (256, 256, 3)
