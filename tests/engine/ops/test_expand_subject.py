"""Expand canvas never continues the subject: PatchMatch's sources exclude it, and a side the subject
touches gets a mirrored, blurred extension (said in the note). Plus the fill modes and the palette."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.ops import expand as ex
from pixora_ui.engine.ops import inpaint
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import NeedsGenerativeProvider, never_cancelled, no_progress
from pixora_ui.services.studio import palette_params
from tests.engine.conftest import needs_isnet

ORANGE = (255, 120, 0)


def _scene(centre_x: int) -> tuple[np.ndarray, np.ndarray]:
    """Grass with an orange disc (the subject) of radius 45 at (centre_x, 150)."""
    grass = data.grass()[:300, :320]
    image = np.ascontiguousarray(np.dstack([grass] * 3))
    subject = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(subject, (centre_x, 150), 45, 1, -1)
    image[subject > 0] = ORANGE
    return image, subject > 0


def _orange_share(pixels: np.ndarray) -> float:
    p = pixels.astype(int)
    orange = (p[..., 0] > 180) & (p[..., 1] > 60) & (p[..., 1] < 180) & (p[..., 2] < 90)
    return float(orange.mean())


def test_excluded_pixels_are_never_a_source() -> None:
    # A hole on the border between an orange subject and grass: PatchMatch fills its left part
    # with orange unless the subject is excluded from the sources.
    grass = data.grass()[:200, :300]
    image = np.ascontiguousarray(np.dstack([grass] * 3))
    subject = np.zeros(grass.shape, bool)
    subject[:, :150] = True
    tint = np.asarray(ORANGE, np.float32) * (0.6 + 0.4 * grass[subject][:, None] / 255.0)
    image[subject] = tint.astype(np.uint8)
    hole = np.zeros(grass.shape, bool)
    hole[70:130, 120:180] = True
    free = inpaint.fill_hole(image, hole)
    kept_out = inpaint.fill_hole(image, hole, exclude=subject & ~hole)
    assert _orange_share(free[hole]) > 0.2
    assert _orange_share(kept_out[hole]) == 0.0
    assert np.array_equal(kept_out[~hole], image[~hole])


def test_a_subject_touching_the_new_border_gets_a_mirrored_blurred_extension() -> None:
    image, subject = _scene(centre_x=20)  # the disc crosses the left edge
    out = ex.expand(image, left=35, right=20, subject=subject)
    assert "left edge" in out.note and "mirrored, blurred" in out.note and "right" not in out.note
    left = out.image[:, :112].astype(np.float32).mean(axis=2)
    far = left[:, :60]  # away from the seam the mirror is fully blurred: no grass texture, no hard disc rim
    assert np.abs(np.diff(far, axis=1)).mean() < 2.0
    grass_energy = np.abs(np.diff(image[:, 150:].astype(np.float32).mean(axis=2), axis=1)).mean()
    assert grass_energy > 8.0


def test_blur_and_colour_fills() -> None:
    image, _subject = _scene(centre_x=160)
    blurred = ex.expand(image, aspect="16:9", mode="blur")
    assert blurred.image.shape[:2] == (300, 533)
    assert "mirrored, blurred" in blurred.note
    coloured = ex.expand(image, top=10, bottom=10, mode="colour", colour=(12, 34, 56))
    assert np.all(coloured.image[:30] == (12, 34, 56)) and np.all(coloured.image[-30:] == (12, 34, 56))
    assert np.array_equal(coloured.image[30:-30], image)
    with pytest.raises(ex.ExpandError, match="Unknown fill"):
        ex.expand(image, left=10, mode="sideways")


def test_generative_fill_is_handed_to_a_provider_and_offered_only_with_one() -> None:
    tool = get_registry().get("expand")
    assert tool.param("mode").choices == ("content-aware", "blur", "colour", "generative")
    with pytest.raises(NeedsGenerativeProvider, match="generative"):
        tool.run(data.coffee(), tool.validate({"aspect": "1:1", "mode": "generative"}), no_progress, never_cancelled)
    # No generative provider is configured in the tests: the palette leaves the choice out.
    offered = {p.name: p for p in palette_params(tool)}["mode"]
    assert offered.choices == ("content-aware", "blur", "colour")
    assert offered.choice_labels == ("Content-aware", "Blur", "Colour")


@pytest.mark.models
@needs_isnet
def test_portrait_to_16_9_has_no_second_torso() -> None:
    tool = get_registry().get("expand")
    image = np.ascontiguousarray(data.astronaut())
    result = tool.run(image, tool.validate({"aspect": "16:9"}), no_progress, never_cancelled)
    out = result.image
    assert out.shape[:2] == (512, 910)
    margin = (910 - 512) // 2
    assert np.array_equal(out[:, margin : margin + 512], image)
    # The orange suit is the subject: the margins (content-aware or blurred) must not grow another,
    # as PatchMatch did with the whole photo as its source (half the left margin was a second torso).
    assert _orange_share(out[:, :margin]) < 0.01 and _orange_share(out[:, -margin:]) < 0.01
    assert _orange_share(ex.expand(image, aspect="16:9").image[:, :margin]) > 0.2
    assert "right edge" in result.note and "mirrored, blurred" in result.note
