"""Upscaling 2x/3x/4x with Real-ESRGAN through ncnn: tiled, memory-bounded, cancellable.

`quality` is Real-ESRGAN x4plus (RRDBNet). Its memory is dominated by the 4x-resolution tail
(about 34 KB per input pixel), so each tile runs in two steps: the body at input resolution
(blob "1878", ~18 KB per pixel) on a tile with a 12-pixel context pad (seams stay below a few
levels; Real-ESRGAN itself uses 10), then the tail on small sub-tiles of the body's features with a
4-pixel pad, which is exact (nearest upsampling + 3x3 convolutions only). Peak memory therefore
does not depend on the input size.

`fast` is realesr-animevideov3 (SRVGG compact, ≈ 30x cheaper), run on larger tiles in one step.

x2 and x3 are made from the x4 result by an area downscale, per tile: the padded x4 tile is
resized as a whole and then cropped, which gives the same pixels as resizing the full x4 image
(the ratio is exact), without ever holding the x4 image. Alpha is upscaled separately (cubic).
On a host where ncnn finds a Vulkan GPU the same nets run there automatically.
"""

from __future__ import annotations

import ctypes.util
import math
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.models import upscale_tone
from pixora_ui.engine.models.weights import is_installed
from pixora_ui.engine.tools.registry import (
    Cancelled,
    ImageArray,
    Progress,
    ToolError,
    ToolUnavailable,
    check_cancelled,
    never_cancelled,
    no_progress,
)
from pixora_ui.settings import get_settings

ModelName = Literal["quality", "fast"]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class _ModelInfo:
    catalogue_name: str  # name in engine/models/weights.py
    file_stem: str
    split_blob: str | None  # body/tail boundary blob, or None to run the net in one step
    tile_px: int  # largest padded tile, input pixels: bounds memory (~18 KB/px for x4plus's body)
    pad: int  # context on each inner side, input pixels
    seconds_per_mp: float  # CPU, 2 cores (MODELS.md), for the first ETA
    bf16: bool  # store activations as bfloat16 where the CPU computes in it (see _Net)


MODELS: dict[str, _ModelInfo] = {
    "quality": _ModelInfo("realesrgan-x4plus", "realesrgan-x4plus", "1878", 268 * 268, 12, 130.0, True),
    "fast": _ModelInfo("realesr-animevideov3", "realesr-animevideov3-x4", None, 512 * 512, 12, 3.0, True),
}
# Tail sub-tile core, in input pixels. 96 recomputes 17 % of the tail (64: 27 %, and a 20 % slower
# tail); ncnn 1.0.20261020 segfaults on a 136x136 tail sub-tile (544x544 at 4x), fp32 or bf16.
_TAIL_TILE = 96
_TAIL_PAD = 4
_SCALE = 4  # both nets are x4
_MP = 1 << 20
_LARGE_RESULT_BYTES = 64 << 20


class UpscaleError(ToolError):
    """The upscale cannot run as asked (for example the result would be too large)."""


def _gpu_available() -> bool:
    # ncnn prints loader errors on hosts without Vulkan; only ask it when a loader exists.
    if ctypes.util.find_library("vulkan") is None:
        return False
    import ncnn  # noqa: PLC0415 - heavy runtime, loaded only when an ncnn model runs

    return bool(ncnn.get_gpu_count() > 0)


@cache
def gpu_available() -> bool:
    try:
        return _gpu_available()
    except (OSError, RuntimeError):
        return False


@cache
def _cpu_has_bf16() -> bool:
    """AVX-512 BF16 (Zen 4, Sapphire Rapids and newer): ncnn then stores activations as bfloat16."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as cpuinfo:
            return any(line.startswith("flags") and " avx512_bf16" in line for line in cpuinfo)
    except OSError:
        return False


class _Net:
    """One loaded ncnn net; `lock` keeps one run at a time so memory stays bounded.

    With `bf16`, on a CPU that computes in bfloat16, activations are stored in it: x4plus runs
    ~10-15 % faster and its output stays within 54 dB PSNR of fp32 (mean error a quarter of a
    level), far below what an eye can see; the fast model gains ~6 %. (ncnn's pool allocators were
    tried for the tile buffers: no clear gain, 2x slower on one large blob, and a crash at
    interpreter exit.)
    """

    def __init__(self, models_dir: Path, info: _ModelInfo, threads: int, use_gpu: bool, bf16: bool) -> None:
        import ncnn  # noqa: PLC0415 - heavy runtime, loaded only when an ncnn model runs

        self.info = info
        self.lock = threading.Lock()
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = use_gpu
        self.net.opt.num_threads = max(1, threads)
        self.net.opt.use_bf16_storage = bf16
        param = models_dir / f"{info.file_stem}.param"
        weights = models_dir / f"{info.file_stem}.bin"
        if self.net.load_param(str(param)) != 0 or self.net.load_model(str(weights)) != 0:
            raise ToolUnavailable(f"Could not load the {info.catalogue_name} model: run `main.py models install`.")
        self._mat = ncnn.Mat

    def run(self, x: FloatArray, *, input_blob: str = "data", output_blob: str = "output") -> FloatArray:
        # ncnn.Mat(array) shares the array's memory and ncnn reads it during extract(), so the array,
        # the Mat and the extractor are all held by names until the output has been copied out. (A
        # temporary `ncnn.Mat(np.ascontiguousarray(x))` was freed before ncnn read it: a segfault.)
        pixels = np.ascontiguousarray(x, dtype=np.float32)
        mat_in = self._mat(pixels)
        extractor = self.net.create_extractor()
        try:
            extractor.input(input_blob, mat_in)
            ret, mat_out = extractor.extract(output_blob)
            if ret != 0:
                raise ToolError("The upscaler failed on this image.")
            result = np.array(mat_out, dtype=np.float32, copy=True)
            del mat_out
        finally:
            del extractor
        del mat_in, pixels  # only now: ncnn no longer reads the input
        return result


_NETS: dict[tuple[str, str, int, bool, bool], _Net] = {}
_NETS_LOCK = threading.Lock()


def _get_net(model: str, *, fp32: bool = False) -> _Net:
    """The loaded net; `fp32` forces ncnn's default fp32 storage (the benchmark's reference)."""
    settings = get_settings()
    info = MODELS[model]
    if not is_installed(settings.models_dir, info.catalogue_name):
        raise ToolUnavailable(f"The {model} upscaler's model is not installed: run `main.py models install`.")
    gpu = gpu_available()
    bf16 = info.bf16 and not fp32 and not gpu and _cpu_has_bf16()
    key = (str(settings.models_dir), model, settings.engine_threads, gpu, bf16)
    with _NETS_LOCK:
        net = _NETS.get(key)
        if net is None:
            net = _Net(settings.models_dir, info, settings.engine_threads, gpu, bf16)
            _NETS[key] = net
        return net


def available(model: str = "quality") -> tuple[bool, str]:
    info = MODELS[model]
    if is_installed(get_settings().models_dir, info.catalogue_name):
        return True, ""
    return False, "Upscaling models are not installed: run `main.py models install`."


def _split(length: int, count: int) -> list[tuple[int, int]]:
    edges = [round(i * length / count) for i in range(count + 1)]
    return [(edges[i], edges[i + 1]) for i in range(count)]


def _spans(length: int, tile: int) -> list[tuple[int, int]]:
    """Split 0..length into near-equal spans of at most `tile` (equal spans waste no compute)."""
    return _split(length, max(1, math.ceil(length / tile)))


@dataclass(frozen=True, slots=True)
class _Tile:
    y0: int
    y1: int
    x0: int
    x1: int  # core, input pixels
    py0: int
    py1: int
    px0: int
    px1: int  # core plus context pad, clipped to the image


def _padded(length: int, count: int, pad: int) -> tuple[int, int]:
    """(sum of padded span lengths, longest padded span) for `count` near-equal spans."""
    core = math.ceil(length / count)
    longest = core + (0 if count == 1 else pad if count == 2 else 2 * pad)
    return length + 2 * pad * (count - 1), min(length, longest)


def grid(height: int, width: int, tile_px: int, pad: int) -> tuple[int, int]:
    """Tiles per axis with the least padded area (least wasted compute) whose largest padded tile
    stays within `tile_px` pixels (the memory bound)."""
    best: tuple[int, int, int] | None = None
    limit_y = max(1, math.ceil(height / 8))
    limit_x = max(1, math.ceil(width / 8))
    for ny in range(1, min(limit_y, 512) + 1):
        total_y, long_y = _padded(height, ny, pad)
        if long_y * min(width, 8) > tile_px and ny < limit_y:
            continue
        for nx in range(1, min(limit_x, 512) + 1):
            total_x, long_x = _padded(width, nx, pad)
            if long_y * long_x > tile_px:
                continue
            cost = total_y * total_x + 64 * ny * nx  # a small per-tile cost breaks ties toward fewer tiles
            if best is None or cost < best[0]:
                best = (cost, ny, nx)
            break  # more columns only add padding once this one fits
    if best is None:
        side = max(8, math.isqrt(tile_px) - 2 * pad)
        return max(1, math.ceil(height / side)), max(1, math.ceil(width / side))
    return best[1], best[2]


def _tiles(height: int, width: int, tile: int | None, pad: int, tile_px: int = 0) -> list[_Tile]:
    if tile is None:
        ny, nx = grid(height, width, tile_px, pad)
        rows, cols = _split(height, ny), _split(width, nx)
    else:
        rows, cols = _spans(height, tile), _spans(width, tile)
    out = []
    for y0, y1 in rows:
        for x0, x1 in cols:
            out.append(
                _Tile(y0, y1, x0, x1, max(0, y0 - pad), min(height, y1 + pad), max(0, x0 - pad), min(width, x1 + pad))
            )
    return out


def _chw(rgb: ImageArray) -> FloatArray:
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) * np.float32(1 / 255)


def _forward(net: _Net, rgb: ImageArray, cancelled: Cancelled) -> FloatArray:
    """x4 output (3 x 4h x 4w, float 0..1) of one padded tile."""
    info = net.info
    if info.split_blob is None:
        return net.run(_chw(rgb))
    features = net.run(_chw(rgb), output_blob=info.split_blob)  # 64 x h x w
    _, h, w = features.shape
    out = np.empty((3, h * _SCALE, w * _SCALE), dtype=np.float32)
    for sub in _tiles(h, w, _TAIL_TILE, _TAIL_PAD):
        check_cancelled(cancelled)
        part = net.run(features[:, sub.py0 : sub.py1, sub.px0 : sub.px1], input_blob=info.split_blob)
        oy, ox = (sub.y0 - sub.py0) * _SCALE, (sub.x0 - sub.px0) * _SCALE
        out[:, sub.y0 * _SCALE : sub.y1 * _SCALE, sub.x0 * _SCALE : sub.x1 * _SCALE] = part[
            :, oy : oy + (sub.y1 - sub.y0) * _SCALE, ox : ox + (sub.x1 - sub.x0) * _SCALE
        ]
    return out


def _eta_text(done: int, total: int, started: float, first_guess: float) -> str:
    remaining = first_guess if done == 0 else (time.monotonic() - started) / done * (total - done)
    left = f"about {max(1, round(remaining))} s left" if remaining < 60 else f"about {round(remaining / 60)} min left"
    return f"Upscaling: tile {min(done + 1, total)} of {total}, {left}"


def check_budget(height: int, width: int, scale: int) -> None:
    """Refuse before any work when the result would exceed the configured pixel budget."""
    # Megapixels of 2**20 pixels, so the default 64 MP is exactly 8192x8192 (a 2048x2048 photo at 4x).
    limit = get_settings().upscale_max_mp
    out_mp = height * scale * width * scale / _MP
    if out_mp > limit:
        largest = math.sqrt(limit * _MP / (height * width)) if height * width else 0
        raise UpscaleError(
            f"The result would be {out_mp:.0f} MP ({width * scale}x{height * scale}), over the {limit:g} MP limit: "
            f"choose a scale of at most {max(1, math.floor(largest))}x or crop the photo first."
        )


def upscale(
    image: ImageArray,
    *,
    scale: int = 4,
    model: str = "quality",
    progress: Progress = no_progress,
    cancelled: Cancelled = never_cancelled,
    tile: int | None = None,
    pad: int | None = None,
    fp32: bool = False,
    detail: float = 100,
    anchor: bool = True,
) -> ImageArray:
    """Upscale an RGB or RGBA uint8 image by 2, 3 or 4; `tile`/`pad` override the defaults (tests),
    `fp32` turns bfloat16 storage off (the benchmark's tiling-overhead row). `detail` (0-100) blends
    the model's output with a Lanczos resize; `anchor` keeps the photo's tone and colour
    (`upscale_tone`; off only to measure the model's own shift)."""
    if scale not in (2, 3, 4):
        raise UpscaleError("The scale must be 2, 3 or 4.")
    if model not in MODELS:
        raise UpscaleError(f"Unknown upscaler model {model!r}.")
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise UpscaleError("The upscaler needs an 8-bit RGB or RGBA image.")
    height, width = image.shape[:2]
    check_budget(height, width, scale)
    info = MODELS[model]
    net = _get_net(model, fp32=fp32)
    rgb = image[:, :, :3]
    out = np.empty((height * scale, width * scale, image.shape[2]), dtype=np.uint8)
    # A large result (held in memory) leaves less room for the tile: stay within ~2 GB in all.
    tile_px = info.tile_px if out.nbytes <= _LARGE_RESULT_BYTES else info.tile_px * 6 // 10
    tiles = _tiles(height, width, tile, info.pad if pad is None else pad, tile_px)
    first_guess = height * width / 1e6 * info.seconds_per_mp
    started = time.monotonic()
    with net.lock:
        for done, t in enumerate(tiles):
            check_cancelled(cancelled)
            progress(done / len(tiles), _eta_text(done, len(tiles), started, first_guess))
            tile_rgb = rgb[t.py0 : t.py1, t.px0 : t.px1]
            x4 = _forward(net, tile_rgb, cancelled)
            if anchor:
                upscale_tone.anchor_tone(x4, tile_rgb)
            upscale_tone.blend_detail(x4, tile_rgb, max(0.0, min(100.0, detail)) / 100.0)
            planes = [x4[c] for c in range(3)]
            if scale != _SCALE:  # clamp first, as a downscale of the finished x4 image would
                np.clip(x4, 0.0, 1.0, out=x4)
                size = ((t.px1 - t.px0) * scale, (t.py1 - t.py0) * scale)
                planes = [cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in planes]
            oy, ox = (t.y0 - t.py0) * scale, (t.x0 - t.px0) * scale
            h, w = (t.y1 - t.y0) * scale, (t.x1 - t.x0) * scale
            out[t.y0 * scale : t.y0 * scale + h, t.x0 * scale : t.x0 * scale + w, :3] = _to_uint8(
                [p[oy : oy + h, ox : ox + w] for p in planes]
            )
    if image.shape[2] == 4:
        out[:, :, 3] = _upscale_alpha(image[:, :, 3], scale)
    progress(1.0, "Upscaled")
    return out


def _to_uint8(planes: list[FloatArray]) -> ImageArray:
    """Three 0..1 float planes to H x W x 3 uint8, rounded and clamped (OpenCV's saturating cast,
    ~10x faster than clip + rint + astype in numpy on a 4x tile)."""
    scaled = [cv2.multiply(p, 255.0, dtype=cv2.CV_8U) for p in planes]
    return np.asarray(cv2.merge(scaled), dtype=np.uint8)


def _upscale_alpha(alpha: ImageArray, scale: int) -> ImageArray:
    if alpha.min() == 255:
        return np.full((alpha.shape[0] * scale, alpha.shape[1] * scale), 255, dtype=np.uint8)
    resized = cv2.resize(alpha, (alpha.shape[1] * scale, alpha.shape[0] * scale), interpolation=cv2.INTER_CUBIC)
    return np.asarray(resized, dtype=np.uint8)


def lanczos(image: ImageArray, scale: int) -> ImageArray:
    """The classic resize the models are compared against."""
    resized = cv2.resize(image, (image.shape[1] * scale, image.shape[0] * scale), interpolation=cv2.INTER_LANCZOS4)
    return np.asarray(resized, dtype=np.uint8)


def reference_run(image: ImageArray, model: str = "quality", *, split_tail: bool = False) -> FloatArray:
    """One plain ncnn run (its default fp32 storage) of the whole net on the whole image, untiled
    (benchmark and tests).

    `split_tail` runs the 4x tail on sub-tiles (exact, see the module docstring) so that the
    reference fits in memory for inputs above ~200x200; the body still runs untiled.
    """
    net = _get_net(model, fp32=True)
    with net.lock:
        if split_tail:
            return _forward(net, image[:, :, :3], never_cancelled)
        return net.run(_chw(image[:, :, :3]))
