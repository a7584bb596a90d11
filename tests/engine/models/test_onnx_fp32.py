"""The fp16 → fp32 graph conversion gives the same outputs as the stored fp16 graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pixora_ui.engine.models.onnx_fp32 import fp32_model_bytes


def _fp16_model(path: Path) -> None:
    """input (fp32) → Cast fp16 → Conv (fp16 weights) → Relu → Cast fp32 → output, plus a side head.

    The nodes are stored out of topological order, as some exported graphs are.
    """
    rng = np.random.default_rng(7)
    weight = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float16), "w")
    bias = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float16), "b")
    nodes = [
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("Cast", ["input"], ["input_fp16"], to=TensorProto.FLOAT16, name="cast_in"),
        helper.make_node("Conv", ["input_fp16", "w", "b"], ["conv"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Cast", ["relu"], ["output"], to=TensorProto.FLOAT, name="cast_out"),
        helper.make_node("Sigmoid", ["conv"], ["side16"], name="side"),
        helper.make_node("Cast", ["side16"], ["side"], to=TensorProto.FLOAT, name="cast_side"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [
            helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8]),
            helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 4, 8, 8]),
        ],
        [weight, bias],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]), str(path))


def test_converted_graph_matches_the_fp16_graph_and_keeps_only_the_asked_output(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    _fp16_model(path)
    converted = onnx.load_from_string(fp32_model_bytes(path, ("output",)))

    assert [o.name for o in converted.graph.output] == ["output"]
    assert all(i.data_type == TensorProto.FLOAT for i in converted.graph.initializer)
    assert not [n for n in converted.graph.node if n.op_type == "Cast"]

    x = np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)
    original = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    widened = ort.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = original.run(["output"], {"input": x})
    (actual,) = widened.run(["output"], {"input": x})
    assert actual.dtype == np.float32
    # fp16 rounding of the activations is all that differs.
    np.testing.assert_allclose(actual, expected, atol=2e-2, rtol=1e-2)
    assert float(np.abs(actual).max()) > 0.1


def test_asking_for_an_output_the_graph_lacks_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    _fp16_model(path)
    with pytest.raises(ValueError, match="no output named"):
        fp32_model_bytes(path, ("mask",))
