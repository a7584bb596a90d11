"""Benchmark cases for upscale, retouch, denoise, magic erase, expand canvas and plain-language edits.

The upscale cases resize the bench photo to the size their target names (512x512, 192x192, 2048x2048)
inside the timed run; that resize costs milliseconds against tens of seconds of inference.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from pixora_ui.bench.runner import BenchCase, tool_case
from pixora_ui.engine.models import upscale
from pixora_ui.engine.models.weights import is_installed
from pixora_ui.engine.ops import imageio, inpaint
from pixora_ui.engine.tools.interpret import interpret
from pixora_ui.engine.tools.registry import ToolCancelled
from pixora_ui.settings import get_settings


def _decode(data: bytes) -> Any:
    settings = get_settings()
    return imageio.decode(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels).pixels


def _square(pixels: Any, side: int) -> Any:
    h, w = pixels.shape[:2]
    s = min(h, w)
    crop = pixels[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return np.ascontiguousarray(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA))


def _encode(pixels: Any) -> bytes:
    return imageio.encode(pixels, "jpeg", get_settings().jpeg_quality)


def _upscale_square(side: int, model: str, *, fp32: bool = False) -> Callable[[bytes], bytes]:
    def run(data: bytes) -> bytes:
        return _encode(upscale.upscale(_square(_decode(data), side), scale=4, model=model, fp32=fp32))

    return run


def _reference_square(side: int) -> Callable[[bytes], bytes]:
    def run(data: bytes) -> bytes:
        out = upscale.reference_run(_square(_decode(data), side), "quality", split_tail=True)
        return _encode(np.rint(np.clip(out, 0, 1).transpose(1, 2, 0) * 255).astype(np.uint8))

    return run


def _upscale_2048_rss(data: bytes) -> bytes:
    """Peak memory for a 2048x2048 input: the full 8192x8192 result buffer is held (touched) while
    the first three tiles run, then the job is cancelled (a full run takes ~9 minutes here)."""
    image = _square(_decode(data), 2048)
    result_stand_in = np.ones((8192, 8192, 3), np.uint8)  # as resident as the real result at the end
    tiles = 0

    def progress(_fraction: float, _message: str) -> None:
        nonlocal tiles
        tiles += 1

    with contextlib.suppress(ToolCancelled):
        upscale.upscale(image, scale=4, model="quality", progress=progress, cancelled=lambda: tiles > 3)
    return result_stand_in[:1].tobytes()


def _erase_run(data: bytes) -> bytes:
    pixels = _decode(data)
    h, w = pixels.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    side_h, side_w = round(h * 0.2236), round(w * 0.2236)  # 5% of the area
    mask[h // 3 : h // 3 + side_h, w // 2 : w // 2 + side_w] = 255
    return _encode(inpaint.erase(pixels, mask))


def _interpret_run(_data: bytes) -> bytes:
    sentences = [
        "remove the background and make it square",
        "a bit brighter and more contrast",
        "make it black and white",
        "upscale 2x",
        "put it on white then crop to 4:5",
        "make the car red",
    ]
    plans = [interpret(s) for s in sentences]
    return repr(plans[0]).encode()


def _models(*names: str) -> Callable[[], tuple[bool, str]]:
    def available() -> tuple[bool, str]:
        missing = [n for n in names if not is_installed(get_settings().models_dir, n)]
        return (False, f"{', '.join(missing)} not installed: run main.py models install") if missing else (True, "")

    return available


def bench_cases() -> list[BenchCase]:
    quality = _models("realesrgan-x4plus")
    one = ("1 MP",)
    return [
        BenchCase(
            label="upscale quality 4x, 512x512 in",
            run=_upscale_square(512, "quality"),
            available=quality,
            sizes=one,
            targets={"1 MP": 40.0},
            note="input: the bench photo resized to 512x512 (the input column does not apply); output 2048x2048.",
        ),
        BenchCase(
            label="upscale quality 4x, 512x512 in, fp32 storage",
            run=_upscale_square(512, "quality", fp32=True),
            available=quality,
            sizes=one,
            note="the same tiled pipeline with ncnn's default fp32 storage: tiling overhead = this row / next row.",
        ),
        BenchCase(
            label="ncnn x4plus reference, 512x512 in",
            run=_reference_square(512),
            available=quality,
            sizes=one,
            note=(
                "one untiled ncnn extraction (default options, fp32) of the body on the whole 512x512 input, same "
                "threads, the 4x tail on exact sub-tiles (the whole net untiled needs ~14 GB)."
            ),
        ),
        BenchCase(
            label="upscale quality 4x, 2048x2048 in (memory)",
            run=_upscale_2048_rss,
            available=quality,
            sizes=one,
            note="peak RSS target <= 2048 MB; holds a touched 8192x8192 result buffer while 3 tiles run.",
        ),
        replace(
            tool_case("upscale fast 4x", "upscale", {"scale": "4", "model": "fast"}, targets={"1 MP": 5.0}), sizes=one
        ),
        replace(tool_case("upscale fast 2x", "upscale", {"scale": "2", "model": "fast"}), sizes=one),
        tool_case("retouch", "retouch", {"strength": 50}, targets={"12 MP": 3.0}),
        tool_case("denoise", "denoise", {"strength": 50}),
        BenchCase(label="erase 5% of the photo", run=_erase_run, targets={"12 MP": 4.0}),
        tool_case("expand 25% right", "expand", {"right": 25}, targets={"12 MP": 6.0}),
        tool_case("prompt: black and white + more contrast", "prompt", {"prompt": "black and white, more contrast"}),
        BenchCase(
            label="interpret 6 sentences",
            run=_interpret_run,
            sizes=one,
            targets={"1 MP": 6 * 0.020},
            note="pure interpretation of six sentences (no image work); target 20 ms each.",
        ),
    ]
