"""An operator-supplied LaMa / MI-GAN ONNX model: install checks, erase and expand use it, fallbacks.

The models are tiny graphs built here with the `onnx` package, with the same inputs and outputs as
the real exports (LaMa: float image 0..1 + mask → 0..255; MI-GAN pipeline: uint8 image + mask where
255 = keep → uint8), so the whole path runs without any downloaded weights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from skimage import data

from pixora_ui.commands import models as models_command
from pixora_ui.engine.models import learned_inpaint
from pixora_ui.engine.models.installer import InstallError, install_inpaint_file
from pixora_ui.engine.ops import expand, inpaint

LAMA_GRAY = 64.0  # what the fake LaMa paints into the hole
MIGAN_GRAY = 200.0


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def fake_lama(path: Path, *, size: int | str = 512, input_names: tuple[str, str] = ("image", "mask")) -> Path:
    """image [1,3,S,S] 0..1 and mask [1,1,S,S] (1 = fill) → image*255 outside the hole, 64 inside."""
    image, mask = input_names
    nodes = [
        helper.make_node("Sub", ["one", mask], ["keep"]),
        helper.make_node("Mul", [image, "keep"], ["kept"]),
        helper.make_node("Mul", ["kept", "scale"], ["kept255"]),
        helper.make_node("Mul", [mask, "gray"], ["painted"]),
        helper.make_node("Add", ["kept255", "painted"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fake-lama",
        [
            helper.make_tensor_value_info(image, TensorProto.FLOAT, [1, 3, size, size]),
            helper.make_tensor_value_info(mask, TensorProto.FLOAT, [1, 1, size, size]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, size, size])],
        initializer=[
            helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
            helper.make_tensor("scale", TensorProto.FLOAT, [], [255.0]),
            helper.make_tensor("gray", TensorProto.FLOAT, [], [LAMA_GRAY]),
        ],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def fake_migan(path: Path) -> Path:
    """The MI-GAN pipeline's interface: uint8 image + mask (255 = keep), any size → the composed uint8 photo."""
    nodes = [
        helper.make_node("Cast", ["image"], ["image_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["mask_f", "full"], ["keep"]),
        helper.make_node("Mul", ["image_f", "keep"], ["kept"]),
        helper.make_node("Sub", ["one", "keep"], ["hole"]),
        helper.make_node("Mul", ["hole", "gray"], ["painted"]),
        helper.make_node("Add", ["kept", "painted"], ["mixed"]),
        helper.make_node("Cast", ["mixed"], ["result"], to=TensorProto.UINT8),
    ]
    graph = helper.make_graph(
        nodes,
        "fake-migan",
        [
            helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", 3, "height", "width"]),
            helper.make_tensor_value_info("mask", TensorProto.UINT8, ["batch", 1, "height", "width"]),
        ],
        [helper.make_tensor_value_info("result", TensorProto.UINT8, ["batch", 3, "height", "width"])],
        initializer=[
            helper.make_tensor("full", TensorProto.FLOAT, [], [255.0]),
            helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
            helper.make_tensor("gray", TensorProto.FLOAT, [], [MIGAN_GRAY]),
        ],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def _install(tmp_path: Path, model: Path) -> Path:
    models_dir = tmp_path / "models"
    lines: list[str] = []
    install_inpaint_file(models_dir, model, progress=lines.append)
    assert any("lama" in line or "migan" in line for line in lines)
    return models_dir


def _hole(shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    mask[150:230, 200:300] = 255
    return mask


def test_install_checks_the_graph_and_records_its_sha256(tmp_path: Path) -> None:
    model = fake_lama(tmp_path / "lama.onnx")
    models_dir = _install(tmp_path, model)
    record = json.loads((models_dir / "inpaint.onnx.json").read_text())
    assert record["kind"] == "lama"
    assert record["size"] == 512
    assert record["sha256"] == learned_inpaint.sha256_of(model)
    assert (models_dir / "inpaint.onnx").read_bytes() == model.read_bytes()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda p: fake_lama(p, input_names=("img", "mask")), "'image' and 'mask'"),
        (lambda p: fake_lama(p, size="side"), ""),
        (lambda p: p.write_bytes(b"not a graph") and p, "not a readable ONNX file"),
    ],
)
def test_install_refuses_what_is_not_an_inpainting_graph(tmp_path: Path, build: Any, message: str) -> None:
    path = tmp_path / "model.onnx"
    build(path)
    if message == "":  # a graph with free sizes is accepted and run at 512
        assert install_inpaint_file(tmp_path / "models", path, progress=lambda _l: None)
        return
    with pytest.raises(InstallError, match=message):
        install_inpaint_file(tmp_path / "models", path, progress=lambda _l: None)
    assert not (tmp_path / "models" / "inpaint.onnx").exists()
    assert not learned_inpaint.available(tmp_path / "models")


def test_the_models_command_installs_with_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = fake_migan(tmp_path / "migan_pipeline.onnx")
    settings: Any = SimpleNamespace(models_dir=tmp_path / "models")
    args = argparse.Namespace(models_command="install", names=["inpaint"], file=model)
    assert models_command.run(args, settings) == 0
    assert learned_inpaint.read_record(tmp_path / "models") is not None
    # The name and the file go together.
    assert models_command.run(argparse.Namespace(models_command="install", names=["inpaint"], file=None), settings) == 2
    listed = argparse.Namespace(models_command="list", names=[], file=None)
    assert models_command.run(listed, settings) == 0
    assert "installed (migan)" in capsys.readouterr().out


def test_erase_uses_the_installed_lama_and_keeps_the_rest(tmp_path: Path) -> None:
    models_dir = _install(tmp_path, fake_lama(tmp_path / "lama.onnx"))
    img = data.coffee()
    mask = _hole(img.shape)
    result = inpaint.erase_with_note(img, mask, models_dir=models_dir)
    inside = result.image[160:220, 210:290].astype(float)
    assert np.abs(inside - LAMA_GRAY).max() <= 2  # the model's fill, resized back
    grown = np.zeros(mask.shape, bool)
    grown[140:240, 190:310] = True
    assert np.array_equal(result.image[~grown], img[~grown])
    assert result.note == inpaint.MODEL_NOTE


def test_a_changed_model_file_falls_back_to_the_classical_fill(tmp_path: Path) -> None:
    models_dir = _install(tmp_path, fake_lama(tmp_path / "lama.onnx"))
    fake_lama(models_dir / "inpaint.onnx", size=256)  # replaced behind the record's back
    img = data.coffee()
    result = inpaint.erase_with_note(img, _hole(img.shape), models_dir=models_dir)
    inside = result.image[160:220, 210:290].astype(float)
    assert np.abs(inside - LAMA_GRAY).mean() > 20
    assert result.note != inpaint.MODEL_NOTE


def test_expand_walks_the_migan_model_along_a_long_margin(tmp_path: Path) -> None:
    models_dir = _install(tmp_path, fake_migan(tmp_path / "migan.onnx"))
    img = data.coffee()  # 400 x 600: a 40 % right margin is 240 px wide and 400 px tall
    out = expand.expand(img, right=40, models_dir=models_dir)
    margin = out.image[:, 604:].astype(float)  # the first columns mix with the photo when resized back
    assert np.abs(margin - MIGAN_GRAY).max() <= 2
    assert np.array_equal(out.image[:, :600], img)
    assert "inpainting model" in out.note
