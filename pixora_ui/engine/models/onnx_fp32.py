"""Turn an ONNX graph stored in fp16 into an fp32 graph, in memory, when its session is created.

ISNet's medium weights are fp16 and its graph casts activations back and forth around every
convolution. onnxruntime has no fp16 convolution on x86 CPUs, so it runs them in fp32 anyway and
pays for ~90 casts of megabyte-sized tensors per image. Widening the weights once and dropping the
float-to-float casts gives the same alpha (max difference ~6e-5) about 10 % faster. Keeping only
the outputs a caller asks for also lets onnxruntime drop the side heads that nobody reads.

The installed file stays byte-for-byte what the registry served (its SHA-256 is checked); only
the in-memory copy handed to onnxruntime is converted (~0.7 s, once per model and machine: the
optimised result is cached next to the model, see `onnx_cache.py`). `onnx` itself is imported only
when a conversion runs (its import costs a cold process up to a second).

CONVERSION names this conversion in the cache key: change it whenever the output of
`fp32_model_bytes` changes, so no cache built from the old conversion is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

CONVERSION = "onnx_fp32 v1"
_FLOAT16, _FLOAT = 10, 1  # onnx.TensorProto.FLOAT16 and FLOAT (fixed by the ONNX standard)


def _widen(tensor: onnx.TensorProto) -> None:
    from onnx import numpy_helper  # noqa: PLC0415 - heavy runtime, loaded only when a model is converted

    if tensor.data_type == _FLOAT16:
        widened = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float32), tensor.name)
        tensor.CopyFrom(widened)


def _is_float_cast(node: onnx.NodeProto) -> bool:
    return node.op_type == "Cast" and any(a.name == "to" and a.i in (_FLOAT16, _FLOAT) for a in node.attribute)


def fp32_model_bytes(path: Path, outputs: tuple[str, ...]) -> bytes:
    """The model at `path` with fp16 weights widened to fp32, float casts removed, only `outputs` kept."""
    import onnx  # noqa: PLC0415 - heavy runtime, loaded only when a model is converted

    model = onnx.load(str(path))
    graph = model.graph
    for initializer in graph.initializer:
        _widen(initializer)
    wanted = [o for o in graph.output if o.name in outputs]
    if len(wanted) != len(outputs):
        raise ValueError(f"{path.name} has no output named {set(outputs) - {o.name for o in wanted}}")
    # A cast whose result is a graph output keeps its node (the name must stay), as an Identity.
    # The file's node order is not always topological, so the renames are all collected first.
    renamed: dict[str, str] = {}
    kept: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    _widen(attribute.t)
        if _is_float_cast(node):
            if node.output[0] in outputs:
                kept.append(onnx.helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name))
            else:
                renamed[node.output[0]] = node.input[0]
            continue
        kept.append(node)

    def source(name: str) -> str:
        while name in renamed:
            name = renamed[name]
        return name

    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = source(name)
    del graph.node[:]
    graph.node.extend(kept)
    del graph.output[:]
    graph.output.extend(wanted)
    del graph.value_info[:]  # shapes are inferred again by onnxruntime; stale fp16 types would clash
    for value in [*graph.input, *graph.output]:
        if value.type.tensor_type.elem_type == _FLOAT16:
            value.type.tensor_type.elem_type = _FLOAT
    serialized: bytes = model.SerializeToString()
    return serialized
