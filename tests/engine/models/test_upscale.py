"""Upscaling: no seams between tiles, exact sizes, alpha, cancel, pixel budget, progress."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.models import upscale as up
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import ToolCancelled
from pixora_ui.settings import reset_settings
from tests.engine.conftest import require_model

pytestmark = pytest.mark.models


def _untiled(image: np.ndarray, model: str) -> np.ndarray:
    ref = up.reference_run(image, model)
    return np.rint(np.clip(ref, 0, 1).transpose(1, 2, 0) * 255).astype(np.uint8)


@pytest.mark.parametrize(("model", "catalogue"), [("fast", "realesr-animevideov3"), ("quality", "realesrgan-x4plus")])
def test_tiles_leave_no_seam(face_crop: np.ndarray, model: str, catalogue: str) -> None:
    require_model(catalogue)
    # Tiles of 24 px on a 48 px crop: four tiles, two seams crossing the face.
    # The reference is fp32 and the plain net, so the tone anchoring is off here (tested below).
    tiled = up.upscale(face_crop, scale=4, model=model, tile=24, fp32=True, anchor=False)
    diff = np.abs(tiled.astype(int) - _untiled(face_crop, model))
    assert tiled.shape == (192, 192, 3)
    if model == "fast":
        assert diff.max() <= 2
    else:
        assert diff.mean() < 1.0
        assert np.percentile(diff, 99) <= 8
        assert diff.max() <= 32
    # No line along the seam: the error on the tile border rows is like the error elsewhere.
    seam_rows = diff[94:98].mean()
    assert seam_rows < 3 * max(diff.mean(), 0.05) + 1


def test_bfloat16_storage_stays_invisible(face_crop: np.ndarray) -> None:
    require_model("realesrgan-x4plus")
    if not up._cpu_has_bf16() or up.gpu_available():
        pytest.skip("this CPU does not compute in bfloat16, so quality runs in fp32 anyway")
    fast = up.upscale(face_crop, scale=4, model="quality").astype(float)
    exact = up.upscale(face_crop, scale=4, model="quality", fp32=True).astype(float)
    mse = float(np.mean((fast - exact) ** 2))
    assert mse > 0  # the bf16 net really ran
    assert 10 * np.log10(255**2 / mse) > 45
    assert np.abs(fast - exact).mean() < 0.5


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sizes_are_exact(scale: int) -> None:
    require_model("realesr-animevideov3")
    image = np.ascontiguousarray(cv2.resize(data.coffee(), (37, 29), interpolation=cv2.INTER_AREA))
    out = up.upscale(image, scale=scale, model="fast", tile=16)
    assert out.shape == (29 * scale, 37 * scale, 3)
    assert out.dtype == np.uint8


def test_quality_x3_size(face_crop: np.ndarray) -> None:
    require_model("realesrgan-x4plus")
    out = up.upscale(face_crop[:20, :26], scale=3, model="quality")
    assert out.shape == (60, 78, 3)


def test_x2_tiles_match_a_global_downscale(face_crop: np.ndarray) -> None:
    require_model("realesr-animevideov3")
    x4 = up.upscale(face_crop, scale=4, model="fast", tile=20)
    x2 = up.upscale(face_crop, scale=2, model="fast", tile=20)
    global_x2 = cv2.resize(x4, (96, 96), interpolation=cv2.INTER_AREA)
    assert np.abs(x2.astype(int) - global_x2.astype(int)).max() <= 2


def test_alpha_is_preserved(face_crop: np.ndarray) -> None:
    require_model("realesr-animevideov3")
    alpha = np.zeros(face_crop.shape[:2], np.uint8)
    cv2.circle(alpha, (24, 24), 16, 255, -1)
    rgba = np.dstack([face_crop, alpha])
    out = up.upscale(rgba, scale=2, model="fast")
    assert out.shape == (96, 96, 4)
    assert out[48, 48, 3] == 255
    assert out[2, 2, 3] == 0
    expected = cv2.resize(rgba[:, :, 3], (96, 96), interpolation=cv2.INTER_CUBIC)
    assert np.abs(out[:, :, 3].astype(int) - expected.astype(int)).max() <= 1


def test_cancel_stops_within_one_tile(face_crop: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    require_model("realesr-animevideov3")
    calls = []
    real_forward = up._forward

    def counting(net: object, rgb: np.ndarray, cancelled: object) -> np.ndarray:
        calls.append(rgb.shape)
        return real_forward(net, rgb, cancelled)  # type: ignore[arg-type]

    monkeypatch.setattr(up, "_forward", counting)
    messages: list[str] = []
    with pytest.raises(ToolCancelled):
        up.upscale(
            face_crop,
            scale=4,
            model="fast",
            tile=12,  # 16 tiles
            progress=lambda _f, m: messages.append(m),
            cancelled=lambda: len(calls) >= 2,
        )
    assert len(calls) == 2
    assert "tile 1 of 16" in messages[0]
    assert "left" in messages[1]


def test_pixel_budget_error_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSCALE_MAX_MP", "1")
    reset_settings()
    monkeypatch.setattr(up, "_get_net", lambda _m, **_kw: pytest.fail("must refuse before loading the model"))
    image = np.zeros((600, 400, 3), np.uint8)
    with pytest.raises(up.UpscaleError, match=r"over the 1 MP limit"):
        up.upscale(image, scale=4)
    up.check_budget(400, 600, 1)  # 0.24 MP fits


def test_tool_is_registered() -> None:
    tool = get_registry().get("upscale")
    assert tool.group == "enhance"
    assert tool.costs_credit
    assert tool.param("scale").choices == ("2", "3", "4")
    assert tool.param("model").choices == ("quality", "fast")


def test_tool_runs_fast_2x(face_crop: np.ndarray) -> None:
    require_model("realesr-animevideov3")
    tool = get_registry().get("upscale")
    params = tool.validate({"scale": "2", "model": "fast"})
    result = tool.run(face_crop, params, lambda _f, _m: None, lambda: False)
    assert result.image.shape == (96, 96, 3)
    assert "2x" in result.summary


def _channel_spread(image: np.ndarray) -> tuple[float, float]:
    """(largest difference between the channel means, mean R - B in the mid-tones), in levels."""
    pixels = image.astype(float)
    means = pixels.reshape(-1, 3).mean(axis=0)
    luma = pixels.mean(axis=2)
    mid = (luma >= 60) & (luma < 180)
    return float(means.max() - means.min()), float((pixels[..., 0] - pixels[..., 2])[mid].mean())


@pytest.mark.parametrize(("model", "catalogue"), [("fast", "realesr-animevideov3"), ("quality", "realesrgan-x4plus")])
def test_a_neutral_grey_photo_stays_neutral(model: str, catalogue: str) -> None:
    require_model(catalogue)
    grey = cv2.resize(data.camera(), (96, 96), interpolation=cv2.INTER_AREA)
    image = np.ascontiguousarray(np.dstack([grey] * 3))
    spread, red_minus_blue = _channel_spread(up.upscale(image, scale=4, model=model))
    assert spread <= 1.0 and abs(red_minus_blue) <= 1.0, (spread, red_minus_blue)
    # Tone and brightness stay the photo's (the nets brighten flat areas by 1-5 levels).
    assert abs(float(up.upscale(image, scale=4, model=model).mean()) - float(image.mean())) < 0.5
    if model == "quality":  # the net's own cast, which the anchoring removes: a blue cast in the mid-tones
        raw_spread, raw_red_minus_blue = _channel_spread(up.upscale(image, scale=4, model=model, anchor=False))
        assert raw_spread > 1.0 and raw_red_minus_blue < -1.5


def test_tone_anchoring_leaves_no_seam(face_crop: np.ndarray) -> None:
    require_model("realesr-animevideov3")
    tiled = up.upscale(face_crop, scale=4, model="fast", tile=24).astype(int)
    whole = up.upscale(face_crop, scale=4, model="fast").astype(int)
    assert np.abs(tiled - whole).max() <= 3


def test_detail_blends_towards_a_plain_resize(face_crop: np.ndarray) -> None:
    require_model("realesr-animevideov3")
    lanczos = up.lanczos(face_crop, 4).astype(int)
    none = up.upscale(face_crop, scale=4, model="fast", detail=0).astype(int)
    half = up.upscale(face_crop, scale=4, model="fast", detail=50).astype(int)
    full = up.upscale(face_crop, scale=4, model="fast").astype(int)
    assert np.abs(none - lanczos).max() <= 1
    halfway = np.abs(half - (full + lanczos) / 2)  # off only by rounding, and where the net overshoots 0..255
    assert halfway.mean() < 0.6 and np.percentile(halfway, 99) <= 2
    tool = get_registry().get("upscale")
    assert tool.param("detail").default == 100
