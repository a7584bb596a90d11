"""Retouch: size kept, skin changed more than eyes, global-only without faces, denoise."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.models.faces import detect_faces
from pixora_ui.engine.ops import retouch as rt
from pixora_ui.engine.tools.catalog import get_registry
from tests.engine.conftest import require_model


def _grad(a: np.ndarray) -> float:
    g = a.astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


@pytest.mark.models
def test_skin_changes_more_than_eyes() -> None:
    require_model("centerface")

    image = data.astronaut()
    faces = detect_faces(image)
    assert faces
    face = faces[0]
    out, count = rt.retouch(image, strength=50)
    assert count >= 1
    assert out.shape == image.shape
    assert out.dtype == np.uint8
    baseline = rt.global_fixes(image.copy(), 0.5)
    change = np.abs(out.astype(np.int16) - baseline.astype(np.int16)).mean(axis=2)
    (rex, rey), (lex, ley) = face.landmarks[0], face.landmarks[1]
    eye = np.concatenate(
        [
            change[round(rey) - 3 : round(rey) + 4, round(rex) - 5 : round(rex) + 6].ravel(),
            change[round(ley) - 3 : round(ley) + 4, round(lex) - 5 : round(lex) + 6].ravel(),
        ]
    )
    # Cheeks: below the eyes, beside the nose.
    cy = round(face.y + 0.62 * face.h)
    cheek = np.concatenate(
        [
            change[cy - 5 : cy + 5, round(rex) - 6 : round(rex) + 4].ravel(),
            change[cy - 5 : cy + 5, round(lex) - 4 : round(lex) + 6].ravel(),
        ]
    )
    assert cheek.mean() > 2 * eye.mean() + 0.3, (cheek.mean(), eye.mean())
    # Skin is smoother, but not plastic: some texture stays.
    box = (slice(cy - 5, cy + 5), slice(round(rex) - 6, round(rex) + 4))
    before, after = _grad(baseline[box]), _grad(out[box])
    assert 0.3 * before < after < before


def test_without_faces_only_global_fixes_run() -> None:
    image = data.coffee()
    out, count = rt.retouch(image, strength=50, detector=lambda _img: [])
    assert count == 0
    assert out.shape == image.shape
    assert np.array_equal(out, rt.global_fixes(image.copy(), 0.5))
    assert not np.array_equal(out, image)


def test_strength_zero_changes_nothing() -> None:
    image = data.coffee()
    out, _ = rt.retouch(image, strength=0, detector=lambda _img: [])
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 1


def test_default_strength_is_gentle() -> None:
    image = data.chelsea()
    out, _ = rt.retouch(image, strength=50, detector=lambda _img: [])
    assert np.abs(out.astype(float) - image.astype(float)).mean() < 12


def test_rgba_keeps_alpha() -> None:
    image = np.dstack([data.coffee(), np.full(data.coffee().shape[:2], 128, np.uint8)])
    out, _ = rt.retouch(image, detector=lambda _img: [])
    assert out.shape == image.shape
    assert (out[:, :, 3] == 128).all()


def test_denoise_reduces_noise() -> None:
    clean = data.coffee()[:200, :200].astype(np.float32)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    assert rt.noise_sigma(noisy) > rt.noise_sigma(clean.astype(np.uint8))
    out = rt.denoise(noisy, strength=50)
    assert np.abs(out - clean).mean() < 0.7 * np.abs(noisy - clean).mean()


@pytest.mark.parametrize("half_chroma", [False, True])
def test_denoise_is_as_good_as_opencvs_colour_call(half_chroma: bool) -> None:
    clean = data.astronaut()[:320, :320]
    if half_chroma:  # used from 4 MP on, where colour edges span several pixels: a 2x upscale
        clean = cv2.resize(clean, (640, 640), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(1)
    noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    h_lum = 0.6 * max(rt.noise_sigma(noisy), 2.0) + 5.0
    out = rt._nl_means(noisy, h_lum, 0.8 * h_lum, half_chroma=half_chroma)
    # OpenCV's call expects BGR (its Lab split would weigh red as blue otherwise).
    bgr = cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR)
    full = cv2.cvtColor(cv2.fastNlMeansDenoisingColored(bgr, None, h_lum, 0.8 * h_lum, 5, 15), cv2.COLOR_BGR2RGB)

    def error(image: np.ndarray) -> float:
        return float(np.mean((image.astype(float) - clean.astype(float)) ** 2))

    assert error(out) <= 1.02 * error(full)
    dark = clean.mean(axis=2) < 40  # the shadows keep their tone (no lift, no crush)
    assert (
        abs(float(out[dark].mean()) - float(clean[dark].mean()))
        < abs(float(full[dark].mean()) - float(clean[dark].mean())) + 1.5
    )


def test_tools_are_registered() -> None:
    registry = get_registry()
    tool = registry.get("retouch")
    assert tool.group == "enhance"
    assert tool.costs_credit
    assert tool.param("strength").default == 50
    assert registry.get("denoise").group == "enhance"


def _skin_region(image: np.ndarray, face: object) -> np.ndarray:
    """The face's skin (the retouch's own mask, computed on the untouched photo, > 0.6)."""
    fx, fy, fw, fh = (float(getattr(face, k)) for k in ("x", "y", "w", "h"))
    s = rt.FACE_WORK_WIDTH / fw
    small = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    marks = [(x * s, y * s) for x, y in getattr(face, "landmarks", ())]
    mask = rt.skin_mask(small, (fx * s, fy * s, fw * s, fh * s), marks)
    return np.asarray(cv2.resize(mask, image.shape[1::-1]) > 0.6)


def _skin_texture_and_saturation(image: np.ndarray, region: np.ndarray, face_w: float) -> tuple[float, float]:
    y = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    fine = np.abs(y - cv2.GaussianBlur(y, (0, 0), face_w / 120))  # pores and freckles at any photo size
    saturation = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[:, :, 1].astype(np.float32)
    return float(fine[region].mean()), float(saturation[region].mean())


@pytest.mark.models
def test_a_12_mp_portrait_gets_smoother_skin_with_its_saturation_kept() -> None:
    # Before: the whole-image sharpening and local contrast undid the smoothing (fine texture on the
    # cheeks +5..17 %) and the levels stretch took ~5 levels of skin saturation.
    require_model("centerface")

    image = cv2.resize(data.astronaut(), (3464, 3464), interpolation=cv2.INTER_CUBIC)  # 12 MP
    face = detect_faces(image)[0]
    region = _skin_region(image, face)
    out, count = rt.retouch(image, strength=50)
    assert count == 1
    texture_before, saturation_before = _skin_texture_and_saturation(image, region, face.w)
    texture_after, saturation_after = _skin_texture_and_saturation(out, region, face.w)
    assert texture_after < 0.85 * texture_before, (texture_before, texture_after)
    assert texture_after > 0.4 * texture_before  # smoother, not plastic
    assert abs(saturation_after - saturation_before) <= 2.0, (saturation_before, saturation_after)


def test_skin_is_left_out_of_sharpening_and_local_contrast() -> None:
    image = data.astronaut()
    protect = np.zeros(image.shape[:2], np.float32)
    protect[:, :256] = 1.0
    plain = rt.global_fixes(image, 0.5)
    kept = rt.global_fixes(image, 0.5, protect=protect)
    tone_only = rt.global_fixes(image, 0.5, protect=np.ones_like(protect))
    # Where protected, only the per-channel tone curves act; elsewhere everything does.
    assert np.array_equal(kept[:, :256], tone_only[:, :256])
    assert np.array_equal(kept[:, 256:], plain[:, 256:])
    assert _grad(kept[:, :256]) < _grad(plain[:, :256])


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_denoise_cleans_the_shadows(name: str) -> None:
    # Lab's lightness stretched the shadows, so one strength left them noisy (error -3 %).
    clean = np.ascontiguousarray(getattr(data, name)())
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 15, clean.shape), 0, 255).astype(np.uint8)
    out = rt.denoise(noisy, strength=50)
    dark = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY) < 40
    assert dark.mean() > 0.15

    def error(image: np.ndarray) -> float:
        return float(np.abs(image.astype(np.float32) - clean)[dark].mean())

    assert error(out) < 0.7 * error(noisy), (error(noisy), error(out))
