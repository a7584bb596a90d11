"""The local style filters on real photos at 1 MP: each changes the photo the way its name promises,
and the same photo always gives the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.ops import imageio, style
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import NeedsGenerativeProvider, ParamError, never_cancelled, no_progress

REPO = Path(__file__).resolve().parents[3]


def _one_mp(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    scale = (1_000_000 / (h * w)) ** 0.5
    return np.ascontiguousarray(cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC))


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return _one_mp(data.chelsea())


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return _one_mp(data.astronaut())


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _gradient(rgb: np.ndarray) -> np.ndarray:
    gray = cv2.GaussianBlur(_luma(rgb), (0, 0), 1.0)
    return np.asarray(cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)))


def _chroma_detail(rgb: np.ndarray) -> float:
    """Fine colour texture: band-pass energy of the a/b channels (above paper or canvas grain)."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)[..., 1:]
    return float(np.abs(cv2.GaussianBlur(lab, (0, 0), 1.5) - cv2.GaussianBlur(lab, (0, 0), 4.0)).mean())


@pytest.mark.parametrize("preset", list(style.PRESETS))
def test_each_filter_is_deterministic_and_changes_the_photo(cat: np.ndarray, preset: str) -> None:
    first = style.apply_style(cat, preset)
    second = style.apply_style(cat.copy(), preset)
    assert first.shape == cat.shape and first.dtype == np.uint8
    assert first.tobytes() == second.tobytes()
    assert np.abs(first.astype(int) - cat.astype(int)).mean() > 8


def _strokes_follow_edges(photo: np.ndarray, out: np.ndarray) -> None:
    """Flat, light parts of the photo become plain paper; its strongest edges become dark strokes."""
    grad, luma, drawn = _gradient(photo), _luma(photo), _luma(out)
    flat = (grad < np.percentile(grad, 40)) & (luma > 90)
    edges = grad > np.percentile(grad, 95)
    paper = float(np.median(drawn[flat]))
    assert paper >= 170
    assert drawn[edges].mean() < paper - 60


def test_pencil_is_grey_paper_with_strokes_on_the_edges(astronaut: np.ndarray) -> None:
    out = style.apply_style(astronaut, "pencil")
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert np.median(out[..., 0]) >= 200 > np.median(_luma(astronaut))  # mostly white paper
    _strokes_follow_edges(astronaut, out)
    # Edge density: far more of the drawing is strong local contrast than of the photo.
    assert (_gradient(out) > 60).mean() > 1.5 * (_gradient(astronaut) > 60).mean()


def test_colour_pencil_keeps_colour_and_draws_lines(astronaut: np.ndarray) -> None:
    out = style.apply_style(astronaut, "pencil-colour")
    hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
    assert np.median(hsv[..., 1]) > 30  # coloured, not grey
    _strokes_follow_edges(astronaut, out)


def test_cartoon_flattens_to_a_small_palette_with_ink_lines(cat: np.ndarray) -> None:
    out = style.apply_style(cat, "cartoon")
    _palette, counts = np.unique(out.reshape(-1, 3), axis=0, return_counts=True)
    covered = np.cumsum(np.sort(counts)[::-1]) / counts.sum()
    input_colours = len(np.unique(cat.reshape(-1, 3), axis=0))
    assert int(np.searchsorted(covered, 0.98)) + 1 <= style.CARTOON_COLOURS + 1  # 98% in palette + ink
    assert input_colours > 20_000
    ink = (out == 0).all(axis=2).mean()
    assert 0.01 < ink < 0.3


def test_duotone_maps_every_pixel_between_two_colours(cat: np.ndarray) -> None:
    out = style.apply_style(cat, "duotone").reshape(-1, 3).astype(np.float32)
    shadow = np.asarray(style.DUOTONE_SHADOW, np.float32)
    light = np.asarray(style.DUOTONE_LIGHT, np.float32)
    axis = (light - shadow) / np.linalg.norm(light - shadow)
    rel = out - shadow
    t = rel @ axis
    off_line = np.linalg.norm(rel - t[:, None] * axis[None, :], axis=1)
    assert off_line.max() <= 2.5  # every pixel lies on the shadow-to-light line
    span = np.linalg.norm(light - shadow)
    assert np.percentile(t, 5) < 0.25 * span and np.percentile(t, 95) > 0.75 * span  # both tones used
    hsv = cv2.cvtColor(out.astype(np.uint8)[None], cv2.COLOR_RGB2HSV)[0].astype(int)
    ends = cv2.cvtColor(np.asarray([[style.DUOTONE_SHADOW, style.DUOTONE_LIGHT]], np.uint8), cv2.COLOR_RGB2HSV)[0]
    saturated = hsv[:, 1] > 60
    assert saturated.mean() > 0.5

    def hue_gap(hue: int) -> np.ndarray:
        gap = np.abs(hsv[saturated, 0] - hue)
        return np.minimum(gap, 180 - gap)

    # Two hues (OpenCV hue runs 0-180): nearly every coloured pixel is near one of the two tones' hues,
    # the rest are the blend between them; the photo's own hues (the cat's green eyes) are gone.
    near = np.minimum(hue_gap(int(ends[0, 0])), hue_gap(int(ends[1, 0]))) <= 12
    assert near.mean() > 0.9


def test_vintage_adds_grain_lifts_blacks_and_darkens_corners(astronaut: np.ndarray) -> None:
    out = style.apply_style(astronaut, "vintage")
    # Grain: fine luminance texture in flat areas (the smooth grey backdrop, top right).
    flat_in, flat_out = _luma(astronaut)[40:200, 640:900], _luma(out)[40:200, 640:900]

    def fine(x: np.ndarray) -> float:
        return float((x - cv2.GaussianBlur(x, (0, 0), 2.0)).std())

    assert fine(flat_out) > 1.5 * fine(flat_in)
    assert np.percentile(out, 0.5) > np.percentile(astronaut, 0.5) + 8  # faded blacks
    h, w = out.shape[:2]
    corner = _luma(out)[: h // 8, : w // 8].mean() / max(1.0, _luma(astronaut)[: h // 8, : w // 8].mean())
    centre = (
        _luma(out)[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].mean()
        / _luma(astronaut)[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].mean()
    )
    assert corner < centre - 0.05  # vignette


def test_high_key_and_low_key_shift_the_tones(cat: np.ndarray) -> None:
    luma = _luma(cat)
    high, low = _luma(style.apply_style(cat, "high-key")), _luma(style.apply_style(cat, "low-key"))
    assert high.mean() > luma.mean() + 30
    assert np.percentile(high, 5) > np.percentile(luma, 5) + 30  # shadows lifted
    assert low.mean() < luma.mean() - 30
    assert np.percentile(low, 25) < 0.6 * np.percentile(luma, 25)  # shadows deepened
    assert np.percentile(low, 99.5) > 0.8 * np.percentile(luma, 99.5)  # highlights keep their punch


@pytest.mark.parametrize("preset", ["watercolour", "painting"])
def test_painterly_filters_smooth_away_fine_colour_texture(cat: np.ndarray, preset: str) -> None:
    out = style.apply_style(cat, preset)
    assert _chroma_detail(out) < 0.75 * _chroma_detail(cat)
    # Still the same picture: the large shapes stay where they were.
    small_in = cv2.resize(_luma(cat), (32, 24), interpolation=cv2.INTER_AREA).ravel()
    small_out = cv2.resize(_luma(out), (32, 24), interpolation=cv2.INTER_AREA).ravel()
    assert np.corrcoef(small_in, small_out)[0, 1] > 0.85


def test_strength_blends_and_alpha_is_kept(cat: np.ndarray) -> None:
    assert np.array_equal(style.apply_style(cat, "duotone", 0), cat)
    full = style.apply_style(cat, "duotone", 100).astype(int)
    half = style.apply_style(cat, "duotone", 50).astype(int)
    assert np.abs(half - (full + cat) / 2).max() <= 1.5
    rgba = np.dstack([cat, np.full(cat.shape[:2], 77, np.uint8)])
    out = style.apply_style(rgba, "pencil")
    assert out.shape[2] == 4 and (out[..., 3] == 77).all()


def test_the_style_tool_runs_filters_and_hands_ai_requests_on() -> None:
    tool = get_registry().get("style")
    small = _one_mp(data.coffee())[:200, :300].copy()
    params = tool.validate({"preset": "cartoon", "strength": 80})
    assert not tool.charges(params)
    result = tool.run(small, params, no_progress, never_cancelled)
    assert result.summary == "Style: Cartoon at 80%"
    ai = tool.validate({"prompt": "as a 1950s travel poster"})
    assert tool.charges(ai)
    with pytest.raises(NeedsGenerativeProvider):
        tool.run(small, ai, no_progress, never_cancelled)
    with pytest.raises(ParamError):
        tool.validate({"preset": "glitter"})
    assert style.preset_name("Watercolor") == "watercolour"


def test_cli_edit_with_a_style_preset(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(imageio.encode(np.ascontiguousarray(data.coffee()), "png"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "main.py"),
            "edit",
            str(source),
            *("--tool", "style", "--param", "preset=pencil"),
            "-o",
            "out.png",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = imageio.decode((tmp_path / "out.png").read_bytes(), max_bytes=10**8, max_pixels=10**8).pixels
    assert out.shape[:2] == data.coffee().shape[:2]
    assert np.array_equal(out[..., :3], style.apply_style(np.ascontiguousarray(data.coffee()), "pencil"))
