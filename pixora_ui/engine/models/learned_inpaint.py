"""Learned inpainting (LaMa or MI-GAN) from an ONNX file the operator brings.

No inpainting weights ship in a registry package (../shared/MODELS.md), so none are downloaded
here: `main.py models install inpaint --file PATH` checks the graph's inputs and outputs, copies
the file to `<models>/inpaint.onnx` and records its SHA-256 and kind in `inpaint.onnx.json`. Erase
and expand then use it; a missing, changed or failing model falls back to the classical fill.

Two graph layouts are accepted (docs/engine.md says where operators get them):
- **lama**: `image` float32 [B,3,S,S] RGB 0..1 and `mask` float32 [B,1,S,S] (1 = fill) → one
  float32 [B,3,S,S] output, RGB in 0..1 or 0..255 (exports differ; read from the values).
- **migan**: the MI-GAN pipeline export: `image` uint8 [B,3,H,W] and `mask` uint8 [B,1,H,W]
  (255 = keep, 0 = fill) → uint8 [B,3,H,W], the composed photo.

The model sees square windows resized to its resolution S (512 when its size is free): one
window around a small hole (twice the hole's size, so there is context); a larger hole or a long
expand margin is walked window by window, each window seeing what the previous ones filled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.tools.registry import ImageArray
from pixora_ui.settings import get_settings

log = logging.getLogger("pixora.engine")

MaskArray = npt.NDArray[np.bool_]
Kind = Literal["lama", "migan"]

MODEL_FILENAME = "inpaint.onnx"
RECORD_SUFFIX = ".json"
DEFAULT_SIZE = 512  # working resolution when the graph's size is free (MI-GAN was trained at 512)
_CONTEXT = 2.0  # a window is this many times the hole's size: the model needs what surrounds it
_lock = threading.Lock()
_loaded: dict[tuple[str, str], tuple[Any, GraphSpec]] = {}


class GraphError(ValueError):
    """The ONNX file is not an inpainting graph this engine can drive (one sentence for the operator)."""


@dataclass(frozen=True, slots=True)
class GraphSpec:
    kind: Kind
    size: int  # the square side the model runs at


def _dims(value_info: Any) -> list[int | str]:
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in shape.dim]


def inspect_graph(path: Path) -> GraphSpec:
    """The kind and resolution of an inpainting graph; GraphError when its inputs/outputs do not fit."""
    import onnx  # noqa: PLC0415 - heavy runtime, loaded only when a model is converted

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, OSError, ValueError…
        raise GraphError(f"{path.name} is not a readable ONNX file.") from exc
    initializers = {t.name for t in model.graph.initializer}
    inputs = {i.name: i for i in model.graph.input if i.name not in initializers}
    if set(inputs) != {"image", "mask"}:
        raise GraphError(f"The graph's inputs are {sorted(inputs)}; an inpainting model takes 'image' and 'mask'.")
    if len(model.graph.output) != 1:
        raise GraphError("The graph must have exactly one output, the inpainted image.")
    image, mask, output = inputs["image"], inputs["mask"], model.graph.output[0]
    image_dims, mask_dims, out_dims = _dims(image), _dims(mask), _dims(output)
    if len(image_dims) != 4 or len(mask_dims) != 4 or len(out_dims) != 4:
        raise GraphError("Image, mask and output must be 4-D tensors (batch, channels, height, width).")
    if image_dims[1] != 3 or mask_dims[1] != 1 or not (out_dims[1] == 3 or isinstance(out_dims[1], str)):
        raise GraphError("The image and output need 3 channels (RGB) and the mask 1.")
    types = {image.type.tensor_type.elem_type, mask.type.tensor_type.elem_type, output.type.tensor_type.elem_type}
    fixed = [d for d in image_dims[2:] if isinstance(d, int) and d > 0]
    if len(fixed) == 2 and fixed[0] != fixed[1]:
        raise GraphError(f"The model's input is {fixed[0]}x{fixed[1]}; only square inputs are supported.")
    size = fixed[0] if fixed else DEFAULT_SIZE
    if types == {onnx.TensorProto.FLOAT}:
        if len(fixed) != 2 and any(isinstance(d, int) and d > 0 for d in image_dims[2:]):
            raise GraphError("The model's height and width must both be fixed or both free.")
        return GraphSpec("lama", size)
    if types == {onnx.TensorProto.UINT8}:
        return GraphSpec("migan", size)
    raise GraphError("Image, mask and output must all be float32 (LaMa) or all uint8 (the MI-GAN pipeline).")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def record_path(models_dir: Path) -> Path:
    return models_dir / (MODEL_FILENAME + RECORD_SUFFIX)


def read_record(models_dir: Path) -> dict[str, Any] | None:
    """What `models install inpaint --file` recorded, or None when no model was installed."""
    path = record_path(models_dir)
    if not (models_dir / MODEL_FILENAME).is_file() or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "sha256" in record else None


def available(models_dir: Path) -> bool:
    return read_record(models_dir) is not None


def default_models_dir() -> Path:
    return get_settings().models_dir


def _session(models_dir: Path) -> tuple[Any, GraphSpec] | None:
    """The loaded model, checked against its recorded SHA-256 once per process and file."""
    record = read_record(models_dir)
    if record is None:
        return None
    path = models_dir / MODEL_FILENAME
    key = (str(path), str(record["sha256"]))
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if sha256_of(path) != record["sha256"]:
            log.warning("The inpainting model %s changed since it was installed; using the classical fill.", path)
            return None
        import onnxruntime as ort  # noqa: PLC0415 - heavy runtime, loaded only when a model runs

        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        spec = GraphSpec(record["kind"], int(record["size"]))
        _loaded[key] = (session, spec)
        return _loaded[key]


def _run(session: Any, spec: GraphSpec, window: ImageArray, hole: MaskArray) -> ImageArray:
    """One model pass on a square RGB window already at the model's size."""
    if spec.kind == "lama":
        image = window.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        mask = hole.astype(np.float32)[None, None]
        image = image * (1.0 - mask)  # the hole's old content must not leak into the fill
        (out,) = session.run(None, {"image": image, "mask": mask})
        result = np.asarray(out, dtype=np.float32)[0].transpose(1, 2, 0)
        if float(result.max()) <= 2.0:  # some exports give 0..1, others 0..255
            result = result * 255.0
        return np.asarray(np.clip(np.rint(result), 0, 255), dtype=np.uint8)
    image_u8 = np.ascontiguousarray(window.transpose(2, 0, 1)[None])
    keep = np.where(hole, 0, 255).astype(np.uint8)[None, None]
    (out,) = session.run(None, {"image": image_u8, "mask": keep})
    return np.ascontiguousarray(np.asarray(out, dtype=np.uint8)[0].transpose(1, 2, 0))


def _axis_starts(start: int, end: int, side: int, limit: int) -> list[int]:
    """Window starts along one axis: one centred window for a short hole, else steps of half a window."""
    if end - start <= side * 3 // 4:
        return [min(max(0, (start + end) // 2 - side // 2), max(0, limit - side))]
    starts, position = [], start - side // 4
    while True:
        starts.append(min(max(0, position), max(0, limit - side)))
        if position + side * 3 // 4 >= end:
            return starts
        position += side // 2


def _windows(hole: MaskArray, side: int) -> list[tuple[int, int]]:
    """Top-left corners of square windows of `side` px that together cover the hole, in reading order."""
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    rows = _axis_starts(int(ys.min()), int(ys.max()) + 1, side, h)
    cols = _axis_starts(int(xs.min()), int(xs.max()) + 1, side, w)
    return list(dict.fromkeys((top, left) for top in rows for left in cols))


def fill(rgb: ImageArray, hole: MaskArray, models_dir: Path) -> ImageArray | None:
    """`hole` filled by the installed model, or None when none is installed or it fails."""
    loaded = _session(models_dir)
    if loaded is None or not hole.any():
        return None
    session, spec = loaded
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    extent = max(int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1)
    # The window: twice the hole (context), at least the model's size, at most the photo's short side
    # (a long margin is then walked in several windows).
    side = min(max(round(extent * _CONTEXT), spec.size), h, w)
    out = rgb.copy()
    todo = hole.copy()
    try:
        for top, left in _windows(hole, side):
            part = todo[top : top + side, left : left + side]
            if not part.any():
                continue
            window = out[top : top + side, left : left + side]
            small = cv2.resize(np.ascontiguousarray(window), (spec.size, spec.size), interpolation=cv2.INTER_AREA)
            small_hole = cv2.resize(part.astype(np.uint8), (spec.size, spec.size), interpolation=cv2.INTER_AREA) > 0
            filled = _run(session, spec, np.asarray(small, dtype=np.uint8), np.asarray(small_hole))
            back = cv2.resize(filled, (window.shape[1], window.shape[0]), interpolation=cv2.INTER_CUBIC)
            # Only the hole is replaced: the model's copy of the known pixels is softer than the photo.
            window[part] = back[part]
            part[:] = False
    except Exception:  # any runtime failure of an operator's model falls back to the classical fill
        log.exception("The inpainting model failed; using the classical fill.")
        return None
    return out
