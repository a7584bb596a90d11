"""The optimised ONNX graph cached next to the model: built once, reused, rebuilt when corrupt or stale."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pixora_ui.engine.models import isnet, onnx_cache
from pixora_ui.engine.models.onnx_cache import SessionSpec, cache_paths, load_session
from pixora_ui.settings import reset_settings
from tests.engine.conftest import MODELS_DIR, needs_isnet

SPEC = SessionSpec(threads=1, config=(("session.intra_op.allow_spinning", "0"),))
INPUT = np.random.default_rng(7).standard_normal((1, 3, 16, 16)).astype(np.float32)
# The optimised graph (fused convolutions, NCHWc kernels) rounds differently from the plain one, by
# up to ~2e-5 on some CPUs (AMD EPYC); stale weights (another seed) are off by ~1e2.
CLOSE = 1e-4


def write_model(path: Path, seed: int) -> None:
    """A small conv net (conv, relu, conv, add) that graph optimisation rewrites (fusions, NCHWc)."""
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "r1"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8, 16, 16])],
        [w1, b1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def reference(path: Path) -> np.ndarray:
    """The model's output from a plain, unoptimised session (no cache involved)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["output"], {"input": INPUT})[0])


def output(session: ort.InferenceSession) -> np.ndarray:
    return np.asarray(session.run(["output"], {"input": INPUT})[0])


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "tiny.onnx"
    path.parent.mkdir()
    write_model(path, seed=1)
    return path


def test_the_cache_is_created_on_first_use_and_reused_after(model: Path) -> None:
    cache_file, sidecar = cache_paths(model, SPEC)
    assert cache_file.parent == model.parent and not cache_file.exists()
    session, outcome = load_session(model, SPEC)
    assert outcome == "built"
    np.testing.assert_allclose(output(session), reference(model), rtol=CLOSE, atol=CLOSE)
    meta = json.loads(sidecar.read_text())
    assert meta["size"] == cache_file.stat().st_size
    assert meta["key"]["onnxruntime"] == ort.__version__
    assert onnx.load(str(cache_file)).graph.node  # a complete ONNX graph, written by onnxruntime
    identity = (cache_file.stat().st_ino, cache_file.stat().st_mtime_ns)
    reused_before = onnx_cache.outcomes["reused"]

    again, outcome = load_session(model, SPEC)
    assert outcome == "reused"
    assert onnx_cache.outcomes["reused"] == reused_before + 1
    assert (cache_file.stat().st_ino, cache_file.stat().st_mtime_ns) == identity  # not rewritten
    np.testing.assert_array_equal(output(again), output(session))
    assert not [p for p in model.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_reused_cache_never_runs_the_preparation(model: Path) -> None:
    calls: list[Path] = []

    def prepare(path: Path) -> bytes:
        calls.append(path)
        return path.read_bytes()

    spec = SessionSpec(threads=1, prepare_tag="read as is")
    assert load_session(model, spec, prepare=prepare)[1] == "built"
    assert load_session(model, spec, prepare=prepare)[1] == "reused"
    assert calls == [model]


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "empty", "delete", "bad sidecar"])
def test_a_damaged_cache_is_rebuilt_and_the_output_stays_right(model: Path, damage: str) -> None:
    load_session(model, SPEC)
    cache_file, sidecar = cache_paths(model, SPEC)
    data = bytearray(cache_file.read_bytes())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0x5A
        cache_file.write_bytes(bytes(data))
    elif damage == "truncate":
        cache_file.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "empty":
        cache_file.write_bytes(b"")
    elif damage == "delete":
        cache_file.unlink()
    else:
        sidecar.write_text("{not json")

    session, outcome = load_session(model, SPEC)
    assert outcome == ("built" if damage == "bad sidecar" else "rebuilt")
    np.testing.assert_allclose(output(session), reference(model), rtol=CLOSE, atol=CLOSE)
    meta = json.loads(sidecar.read_text())  # the cache is whole again
    assert meta["size"] == cache_file.stat().st_size
    assert load_session(model, SPEC)[1] == "reused"


def test_a_cache_of_other_weights_is_stale_and_rebuilt(model: Path) -> None:
    load_session(model, SPEC)
    write_model(model, seed=2)  # new weights, same file name
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    session, outcome = load_session(model, SPEC)
    assert outcome == "rebuilt"
    np.testing.assert_allclose(output(session), reference(model), rtol=CLOSE, atol=CLOSE)


def test_the_same_weights_touched_are_hashed_once_and_reused(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_session(model, SPEC)
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # copied or touched
    assert load_session(model, SPEC)[1] == "reused"  # hashed again: the same weights

    def no_hashing(_path: Path) -> str:
        raise AssertionError("the model was hashed although its size and mtime are recorded")

    monkeypatch.setattr(onnx_cache, "_sha256", no_hashing)
    assert load_session(model, SPEC)[1] == "reused"


def test_other_options_get_their_own_cache(model: Path) -> None:
    load_session(model, SPEC)
    for other in (
        SessionSpec(threads=1, level="extended", config=SPEC.config),
        SessionSpec(threads=1, config=SPEC.config, prepare_tag="another conversion"),
        SessionSpec(threads=1, config=(("session.intra_op.allow_spinning", "1"),)),
    ):
        assert cache_paths(model, other)[0] != cache_paths(model, SPEC)[0]
        session, outcome = load_session(model, other)
        assert outcome == "built"
        np.testing.assert_allclose(output(session), reference(model), rtol=CLOSE, atol=CLOSE)
    # Thread counts do not change the graph: they share the cache.
    assert load_session(model, SessionSpec(threads=2, config=SPEC.config))[1] == "reused"
    assert len(list(model.parent.glob("*.optimized.onnx"))) == 4


def test_a_read_only_models_folder_caches_in_the_fallback_folder(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = tmp_path / "data" / "model-cache"
    real_access = os.access
    monkeypatch.setattr(
        onnx_cache.os, "access", lambda path, mode: False if Path(path) == model.parent else real_access(path, mode)
    )
    session, outcome = load_session(model, SPEC, fallback_folder=fallback)
    assert outcome == "built"
    np.testing.assert_allclose(output(session), reference(model), rtol=CLOSE, atol=CLOSE)
    assert list(fallback.glob("tiny.onnx.*.optimized.onnx"))
    assert not list(model.parent.glob("*.optimized.onnx"))
    assert load_session(model, SPEC, fallback_folder=fallback)[1] == "reused"


def test_a_key_recorded_for_another_onnxruntime_is_not_trusted(model: Path) -> None:
    load_session(model, SPEC)
    _cache_file, sidecar = cache_paths(model, SPEC)
    meta = json.loads(sidecar.read_text())
    meta["key"]["onnxruntime"] = "0.0.1"
    sidecar.write_text(json.dumps(meta))
    assert load_session(model, SPEC)[1] == "rebuilt"
    assert json.loads(sidecar.read_text())["key"]["onnxruntime"] == ort.__version__


@pytest.mark.models
@needs_isnet
def test_isnet_from_its_cache_gives_the_same_alpha(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "isnet-medium.onnx").symlink_to(MODELS_DIR / "isnet-medium.onnx")
    monkeypatch.setenv("MODELS_DIR", str(models))
    reset_settings()
    fresh = isnet.LazySession("isnet", "isnet-medium.onnx", prepare=isnet._fp32_output_only, prepare_tag="t")
    session = fresh.get()
    assert fresh.outcome == "built"
    tensor = np.random.default_rng(4).standard_normal((1, 3, 1024, 1024)).astype(np.float32) * 0.5
    built = session.run(["output"], {"input": tensor})[0]
    del session, fresh
    cached = isnet.LazySession("isnet", "isnet-medium.onnx", prepare=isnet._fp32_output_only, prepare_tag="t")
    reused = cached.get().run(["output"], {"input": tensor})[0]
    assert cached.outcome == "reused"
    np.testing.assert_allclose(reused, built, atol=1e-6)
