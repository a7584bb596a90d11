"""Magic erase and expand canvas on scikit-image textures with known ground truth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.ops import expand as ex
from pixora_ui.engine.ops import inpaint
from pixora_ui.engine.tools.catalog import get_registry


def _texture(name: str) -> np.ndarray:
    img = getattr(data, name)()
    return np.ascontiguousarray(np.dstack([img] * 3) if img.ndim == 2 else img)


def _tex(a: np.ndarray, m: np.ndarray) -> float:
    """Mean gradient energy inside mask m (texture kept ≈ the original's, blur ≈ 0)."""
    g = a.astype(np.float32).mean(axis=2)
    e = np.abs(np.diff(g, axis=1))[:-1] + np.abs(np.diff(g, axis=0))[:, :-1]
    return float(e[m[:-1, :-1]].mean())


def _flat_fill(img: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = img.copy()
    out[m] = img[~m].mean(axis=0).astype(np.uint8)
    return out


@pytest.mark.parametrize("name", ["grass", "brick", "gravel"])
@pytest.mark.parametrize("size", [(60, 50), (230, 220)])  # full-resolution and low-resolution + detail paths
def test_erase_restores_texture_statistics(name: str, size: tuple[int, int]) -> None:
    img = _texture(name)
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    hh, hw = size
    mask[h // 2 - hh // 2 : h // 2 + hh // 2, w // 2 - hw // 2 : w // 2 + hw // 2] = 255
    hole = mask > 0
    out = inpaint.erase(img, mask)
    assert out.shape == img.shape
    # Outside the (slightly grown) hole nothing moves.
    grown = cv2.dilate(mask, np.ones((7, 7), np.uint8)) > 0
    assert np.array_equal(out[~grown], img[~grown])
    truth, filled, flat = _tex(img, hole), _tex(out, hole), _tex(_flat_fill(img, hole), hole)
    assert 0.65 * truth < filled < 1.4 * truth, (filled, truth)
    assert filled > 10 * max(flat, 0.01)
    # Same tone and contrast as the real texture.
    assert abs(float(out[hole].mean()) - float(img[hole].mean())) < 10
    assert out[hole].std() > 0.7 * img[hole].std()
    # And closer to the texture's statistics than a flat fill in every way that matters.
    assert abs(out[hole].std() - img[hole].std()) < abs(_flat_fill(img, hole)[hole].std() - img[hole].std())


def test_thin_stroke_uses_fast_diffusion(monkeypatch: pytest.MonkeyPatch) -> None:
    img = data.coffee()
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.line(mask, (50, 50), (250, 80), 255, 3)
    monkeypatch.setattr(inpaint, "fill_hole", lambda *_a, **_k: pytest.fail("a thin stroke needs no PatchMatch"))
    out = inpaint.erase(img, mask)
    assert out.shape == img.shape
    assert not np.array_equal(out, img)


def test_mask_of_another_size_and_rgba_brush_layer() -> None:
    img = _texture("grass")
    brush = np.zeros((128, 128, 4), np.uint8)  # a quarter-size RGBA brush layer
    brush[50:70, 50:70] = (255, 0, 0, 255)
    out = inpaint.erase(img, brush)
    hole = inpaint.mask_from_array(brush, *img.shape[:2])
    assert hole[203:277, 203:277].all()
    assert not hole[:190].any()
    assert not np.array_equal(out[hole], img[hole])


def test_empty_or_full_mask_is_refused() -> None:
    img = data.coffee()
    with pytest.raises(inpaint.EraseError, match="mask is empty"):
        inpaint.erase(img, np.zeros(img.shape[:2], np.uint8))
    with pytest.raises(inpaint.EraseError, match="most of the photo"):
        inpaint.erase(img, np.full(img.shape[:2], 255, np.uint8))


def test_erase_keeps_alpha() -> None:
    img = np.dstack([data.coffee(), np.full(data.coffee().shape[:2], 200, np.uint8)])
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[100:140, 100:160] = 255
    out = inpaint.erase(img, mask)
    assert out.shape == img.shape
    assert (out[:, :, 3] == 200).all()


def test_expand_margins_keep_the_photo_and_continue_texture() -> None:
    img = _texture("grass")
    out = ex.expand(img, right=25, top=10).image
    h, w = img.shape[:2]
    assert out.shape == (h + round(h * 0.10), w + round(w * 0.25), 3)
    top = round(h * 0.10)
    assert np.array_equal(out[top : top + h, :w], img)
    new = np.zeros(out.shape[:2], bool)
    new[:, w:] = True
    assert (
        0.6 * _tex(img, np.ones(img.shape[:2], bool)) < _tex(out, new) < 1.5 * _tex(img, np.ones(img.shape[:2], bool))
    )


@pytest.mark.parametrize(("aspect", "expected"), [("16:9", (512, 910)), ("9:16", (910, 512)), ("1:1", (512, 512))])
def test_expand_to_aspect(aspect: str, expected: tuple[int, int]) -> None:
    img = np.ascontiguousarray(data.astronaut()[:, :])
    if aspect == "1:1":
        with pytest.raises(ex.ExpandError, match="Nothing to expand"):
            ex.expand(img, aspect=aspect)
        return
    out = ex.expand(img, aspect=aspect).image
    assert out.shape[:2] == expected


def test_expand_margins_for_mixed() -> None:
    assert ex.margins_for(100, 200, aspect="1:1") == (50, 0, 50, 0)
    assert ex.margins_for(100, 100, right=50) == (0, 50, 0, 0)
    with pytest.raises(ex.ExpandError):
        ex.margins_for(10, 10, aspect="7:5")


def test_expand_refuses_huge_growth() -> None:
    with pytest.raises(ex.ExpandError, match="3 times"):
        ex.expand(data.coffee(), left=150, right=100)


def test_tools_are_registered_with_honest_description() -> None:
    registry = get_registry()
    erase = registry.get("erase")
    assert erase.group == "generative"
    assert erase.costs_credit
    assert erase.param("mask").kind == "image"
    expand = registry.get("expand")
    assert "does not invent new objects" in expand.description
    assert "generative provider" in expand.description


def test_erase_tool_resolved_mask() -> None:
    tool = get_registry().get("erase")
    img = data.coffee()
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[10:40, 10:60] = 255
    params = tool.validate({"mask": "painted-mask.png"})  # callers validate, then resolve the image
    params["mask"] = mask
    result = tool.run(img, params, lambda _f, _m: None, lambda: False)
    assert result.image.shape == img.shape
