"""ISNet (DIS) background-removal network on onnxruntime: loaded lazily, once per process, thread-safe.

`LazySession` is shared by every ONNX model of the engine (the face detector uses it too): the
session is created on first use behind a lock, with full graph optimisation and
`settings.engine_threads` intra-op threads, and reused by every thread afterwards (onnxruntime's
`run` is thread-safe). The optimised graph is cached next to the model (`onnx_cache.py`), so only
the first process on a machine pays for the fp32 conversion and the optimisation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from isal import isal_zlib

from pixora_ui.engine.models.onnx_cache import Outcome, SessionSpec, load_session
from pixora_ui.engine.models.onnx_fp32 import CONVERSION, fp32_model_bytes
from pixora_ui.engine.models.weights import get_model
from pixora_ui.engine.ops import matting
from pixora_ui.engine.tools.registry import ImageArray, ToolUnavailable
from pixora_ui.settings import get_settings

FloatArray = npt.NDArray[np.float32]

MISSING_MODELS = "models not installed: run `python main.py models install`"
ISNET_SIZE = 1024


def release_free_memory() -> None:
    """Hand freed heap memory back to the OS (glibc keeps it otherwise); a no-op elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class LazySession:
    """One onnxruntime session for one model file, created on first use (from the cached optimised
    graph when there is one, see `onnx_cache.py`)."""

    def __init__(
        self,
        model_name: str,
        filename: str,
        *,
        threads: int | None = None,
        prepare: Callable[[Path], bytes] | None = None,
        prepare_tag: str = "",
    ) -> None:
        self.model_name = model_name
        self._prepare = prepare
        self._prepare_tag = prepare_tag
        self.filename = filename
        self._threads = threads
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self._path: Path | None = None
        self.outcome: Outcome | None = None  # how the current session was obtained (built, reused, ...)

    def path(self) -> Path:
        return get_settings().models_dir / self.filename

    def available(self) -> tuple[bool, str]:
        return (True, "") if self.path().is_file() else (False, MISSING_MODELS)

    def spec(self) -> SessionSpec:
        return SessionSpec(
            threads=self._threads or max(1, get_settings().engine_threads),
            level="all",
            # Idle workers sleep instead of spinning: the web server and other jobs share these cores.
            config=(("session.intra_op.allow_spinning", "0"),),
            prepare_tag=self._prepare_tag,
            # The memory pattern pre-plans one block for every activation at once (ISNet: +600 MB
            # peak); the arena alone recycles buffers within a run, and RELEASE_ARENA hands them
            # back after it.
            mem_pattern=False,
        )

    def get(self) -> ort.InferenceSession:
        path = self.path()
        session = self._session
        if session is not None and self._path == path:
            return session
        with self._lock:
            if self._session is None or self._path != path:
                if not path.is_file():
                    raise ToolUnavailable(
                        f"The {self.model_name} model is not installed; run python main.py models install."
                    )
                self._session, self.outcome = load_session(
                    path, self.spec(), prepare=self._prepare, fallback_folder=get_settings().data_dir / "model-cache"
                )
                release_free_memory()  # the cache file's bytes or the converted copies (~270 MB)
                self._path = path
            return self._session

    def loaded(self) -> bool:
        return self._session is not None


def _fp32_output_only(path: Path) -> bytes:
    return fp32_model_bytes(path, ("output",))


_ISNET = LazySession(
    "background removal",
    get_model("isnet-medium").files[0].filename,
    prepare=_fp32_output_only,
    prepare_tag=f"{CONVERSION}; outputs=output",
)


def availability() -> tuple[bool, str]:
    return _ISNET.available()


def load() -> None:
    """Create the session now (from the cached graph when there is one) without running it."""
    _ISNET.get()


def preload(_params: dict[str, object]) -> None:
    load()


# ISNet's activations fill ~600 MB of arena at 1024 px. Keeping them between runs would save
# ~0.15 s of page faults per cut-out but pin that memory for the life of the server, and the
# full-resolution edge work that follows needs it: the arena is emptied after every run.
RELEASE_ARENA = ort.RunOptions()
RELEASE_ARENA.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")


def predict(small: ImageArray) -> FloatArray:
    """ISNet alpha (0..1, float32) at the size of `small`, an RGB image of about 1000 px.

    The input is stretched to 1024x1024 (the network's size) and the alpha stretched back.
    """
    session = _ISNET.get()
    h, w = small.shape[:2]
    rgb = small[:, :, :3]
    square = cv2.resize(rgb, (ISNET_SIZE, ISNET_SIZE), interpolation=cv2.INTER_LINEAR)
    tensor = square.astype(np.float32)
    tensor -= 128.0
    tensor *= 1.0 / 256.0
    tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])
    (output,) = session.run(["output"], {"input": tensor}, RELEASE_ARENA)
    alpha = np.asarray(output[0, 0], dtype=np.float32)
    resized = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(np.clip(resized, 0.0, 1.0), dtype=np.float32)


def warm_up() -> bool:
    """Load the session and run it once (the first run is much slower), and load pymatting's compiled
    kernels for the pro edges and the edge colours (~4 s on first use); False without the weights."""
    if not _ISNET.available()[0]:
        return False
    predict(np.zeros((64, 64, 3), dtype=np.uint8))

    square = np.zeros((48, 48), dtype=np.float32)
    square[12:36, 12:36] = 1.0
    matting.closed_form_alpha(np.full((48, 48, 3), 128, dtype=np.uint8), square)
    soft = np.asarray(cv2.GaussianBlur(square, (5, 5), 0), dtype=np.float32)
    matting.foreground_background(np.full((48, 48, 3), 0.5, dtype=np.float32), soft)
    return True


# --- the subject mask, cached per image -----------------------------------------------------------------
# Smart crop and change background often follow a cut-out of the same photo: the network alpha is
# kept for a few recent images, keyed by a checksum of the pixels (CRC-32 and Adler-32 via ISA-L,
# ~10 ms for 12 MP), so they reuse it instead of running the network again.

_CACHE_SIZE = 6
_cache: OrderedDict[tuple[object, ...], tuple[FloatArray, ImageArray]] = OrderedDict()
_cache_lock = threading.Lock()
WORK_SIDE = 1000


def image_key(image: ImageArray) -> tuple[object, ...]:
    data = memoryview(np.ascontiguousarray(image).reshape(-1).data)
    return (image.shape, isal_zlib.crc32(data), isal_zlib.adler32(data))


def subject_alpha(image: ImageArray, *, use_cache: bool = True) -> tuple[FloatArray, ImageArray]:
    """ISNet alpha at ~1000 px and the matching shrunken image (a whole-factor area average)."""
    key = image_key(image) if use_cache else None
    if key is not None:
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return hit
    factor = max(1, max(image.shape[:2]) // WORK_SIDE)
    small = (
        image[:, :, :3]
        if factor == 1
        else cv2.resize(
            image[:, :, :3], (image.shape[1] // factor, image.shape[0] // factor), interpolation=cv2.INTER_AREA
        )
    )
    small = np.ascontiguousarray(small, dtype=np.uint8)
    alpha = predict(small)
    if image.shape[2] == 4:  # an image that already has transparency: keep what was already cut
        existing = cv2.resize(image[:, :, 3], (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
        alpha = np.minimum(alpha, existing.astype(np.float32) * np.float32(1.0 / 255.0))
    result = (alpha, small)
    if key is not None:
        with _cache_lock:
            _cache[key] = result
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return result


def cached_subject_alpha(image: ImageArray) -> tuple[FloatArray, ImageArray] | None:
    """The cached alpha for this image, or None (never runs the network)."""
    with _cache_lock:
        return _cache.get(image_key(image))


def forget(image: ImageArray) -> None:
    """Drop this image's mask from the cache, if it is there."""
    key = image_key(image)
    with _cache_lock:
        _cache.pop(key, None)


def clear_cache() -> None:
    """Forget every cached mask (the benchmark times the network on each run)."""
    with _cache_lock:
        _cache.clear()
