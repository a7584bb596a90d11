"""Benchmark cases for cut-out, change background, smart crop and the basic edits, with rembg beside them.

rembg runs the very same ISNet weights (data/models/isnet-medium.onnx) through its `dis_custom`
session, on the same input, encoding its PNG as it does by default: the peer a user would pick.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from pixora_ui.bench.runner import BenchCase, tool_case
from pixora_ui.engine.models import isnet
from pixora_ui.engine.models.weights import get_model
from pixora_ui.engine.ops import imageio
from pixora_ui.settings import get_settings


def _prepare_cutout(data: bytes) -> None:
    """Cut the photo out once, so smart crop finds the mask in the cache as it does after remove-bg."""
    settings = get_settings()
    pixels = imageio.decode(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels).pixels
    isnet.subject_alpha(pixels)


@cache
def _rembg_session() -> Any:
    from rembg import new_session  # noqa: PLC0415 - optional dev-only dependency, benchmarks only

    path = get_settings().models_dir / get_model("isnet-medium").files[0].filename
    # rembg only loads custom models from its home folder; U2NET_HOME points that at ours (read only).
    os.environ["U2NET_HOME"] = str(path.parent)
    return new_session("dis_custom", model_path=str(path))


def _rembg_run(data: bytes) -> bytes:
    from rembg import remove  # noqa: PLC0415 - optional dev-only dependency, benchmarks only

    out = remove(data, session=_rembg_session())
    assert isinstance(out, bytes)
    return out


def _rembg_available() -> tuple[bool, str]:
    try:
        import rembg  # noqa: F401, PLC0415 - optional dev-only dependency, benchmarks only
    except ImportError:
        return False, "rembg is not installed (pip install rembg)"
    return isnet.availability()


BASIC_TARGET = {"12 MP": 0.4}


def _uncached(case: BenchCase) -> BenchCase:
    """Every timed run computes the cut-out afresh (the mask cache would otherwise serve repeats)."""
    inner: Callable[[bytes], bytes] = case.run

    def run(data: bytes) -> bytes:
        isnet.clear_cache()
        return inner(data)

    return replace(case, run=run)


def bench_cases() -> list[BenchCase]:
    return [
        _uncached(tool_case("remove-bg standard", "remove-bg", {"mode": "standard"}, targets={"12 MP": 2.5})),
        BenchCase(
            label="rembg 2.0 (same ISNet weights)",
            run=_rembg_run,
            available=_rembg_available,
            note="rembg.remove() with new_session('dis_custom', model_path=<isnet-medium.onnx>), PNG out.",
        ),
        _uncached(tool_case("remove-bg pro", "remove-bg", {"mode": "pro"}, targets={"12 MP": 4.0})),
        _uncached(tool_case("change-bg colour", "change-bg", {"background": "color", "color": "#f1f5f9"})),
        _uncached(tool_case("change-bg blur", "change-bg", {"background": "blur", "blur": 40})),
        tool_case(
            "smart-crop subject (mask cached)",
            "smart-crop",
            {"focus": "subject", "ratio": "4:5"},
            targets={"12 MP": 0.5},
            prepare=_prepare_cutout,
            note="the photo was cut out before (untimed), as after remove-bg in the studio.",
        ),
        _uncached(
            tool_case("smart-crop face", "smart-crop", {"focus": "face", "ratio": "4:5"}, targets={"12 MP": 0.3})
        ),
        tool_case("crop", "crop", {"x": 100, "y": 100, "width": 2000, "height": 1500}, targets=BASIC_TARGET),
        tool_case("resize fit 2048", "resize", {"width": 2048, "height": 2048, "mode": "fit"}, targets=BASIC_TARGET),
        tool_case("rotate 90", "rotate", {"angle": 90}, targets=BASIC_TARGET),
        tool_case("flip", "flip", {}, targets=BASIC_TARGET),
        tool_case("convert webp q80", "convert", {"format": "webp", "quality": 80}, targets=BASIC_TARGET),
        tool_case(
            "adjust (exposure, contrast, saturation, warmth, sharpen)",
            "adjust",
            {"exposure": 0.3, "contrast": 10, "saturation": 15, "warmth": 10, "sharpen": 30},
            targets=BASIC_TARGET,
        ),
    ]
