"""Change background: colour, gradient, portrait blur, another image (cover/fit) and the shadow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pixora_ui.engine.tools.background import gradient, place_image
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import ParamError, ToolResult, never_cancelled, no_progress
from tests.engine.conftest import needs_isnet


def run(photo_pixels: np.ndarray, **raw: Any) -> ToolResult:
    """Validate like the callers do (an image parameter arrives as an id or path), then resolve it."""
    tool = get_registry().get("change-bg")
    other = raw.pop("image", None)
    params = tool.validate({**raw, "image": "other.png" if other is not None else None})
    params["image"] = other
    return tool.run(photo_pixels, params, no_progress, never_cancelled)


def test_gradient_runs_between_the_two_colours() -> None:
    top_down = gradient(40, 100, "#000000", "#ffffff", 90)
    assert top_down.shape == (100, 40, 3)
    assert top_down[0].mean() < 5 and top_down[-1].mean() > 250
    assert np.all(np.diff(top_down[:, 20, 0].astype(int)) >= 0)
    left_right = gradient(100, 40, "#ff0000", "#0000ff", 0)
    assert tuple(left_right[20, 0]) == (254, 0, 1) or left_right[20, 0, 0] > 245
    assert left_right[20, -1, 2] > 245


def test_place_image_cover_and_fit(photo: Callable[[str], np.ndarray]) -> None:
    other = photo("rocket")  # 640 x 427
    cover = place_image(other, 300, 300, "cover", "#00ff00")
    assert cover.shape == (300, 300, 3)
    assert not np.all(cover[0, 0] == (0, 255, 0))
    fit = place_image(other, 300, 300, "fit", "#00ff00")
    assert fit.shape == (300, 300, 3)
    assert tuple(fit[0, 0]) == (0, 255, 0)  # letterboxed
    assert tuple(fit[150, 150]) != (0, 255, 0)


@pytest.mark.models
@needs_isnet
def test_solid_colour_behind_the_subject(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    result = run(image, background="color", color="#ff0000")
    assert result.image.shape == image.shape
    assert result.format_hint == "jpeg"
    for y, x in ((5, 5), (5, 594), (394, 5), (394, 594)):
        assert tuple(result.image[y, x]) == (255, 0, 0)
    assert np.array_equal(result.image[200, 300], image[200, 300])  # the cup is untouched


@pytest.mark.models
@needs_isnet
def test_gradient_and_shadow(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    plain = run(image, background="gradient", color="#ffffff", color2="#000000", angle=90)
    assert plain.image[3, 5].mean() > plain.image[396, 5].mean() + 100
    shaded = run(image, background="color", color="#ffffff", shadow=True)
    unshaded = run(image, background="color", color="#ffffff")
    below = (slice(370, 400), slice(150, 450))  # under the saucer
    assert shaded.image[below].mean() < unshaded.image[below].mean() - 3
    assert shaded.image[0:30, 0:30].mean() > 250  # far from the subject: no shadow


@pytest.mark.models
@needs_isnet
def test_portrait_blur_keeps_subject_and_blurs_the_rest(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("astronaut")
    result = run(image, background="blur", blur=60).image
    flag = (slice(0, 150), slice(0, 80))  # the flag's stripes behind her
    assert (
        np.abs(np.diff(result[flag].astype(float), axis=0)).mean()
        < 0.5 * np.abs(np.diff(image[flag].astype(float), axis=0)).mean()
    )
    face = (slice(80, 160), slice(190, 260))
    assert np.abs(result[face].astype(int) - image[face]).mean() < 3


@pytest.mark.models
@needs_isnet
def test_another_image_behind(photo: Callable[[str], np.ndarray]) -> None:
    image = photo("coffee")
    other = photo("rocket")
    result = run(image, background="image", image=other, fit="cover").image
    assert result.shape == image.shape
    assert np.abs(result[0:20, 0:20].astype(int) - place_image(other, 600, 400, "cover", "#fff")[0:20, 0:20]).mean() < 3
    fitted = run(image, background="image", image=other, fit="fit", color="#123456").image
    assert fitted.shape == image.shape


def test_another_image_is_required(photo: Callable[[str], np.ndarray]) -> None:
    with pytest.raises(ParamError, match="Choose the image to put behind the subject"):
        run(photo("coffee"), background="image")
    with pytest.raises(ParamError, match="Colour must be a colour like #1a2b3c"):
        run(photo("coffee"), color="red")
