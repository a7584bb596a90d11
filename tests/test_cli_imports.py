"""Each `main.py` command imports only what it uses: the command line never loads the web server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import MODELS_DIR

REPO = Path(__file__).resolve().parents[1]
WEB_SERVER = {"nicegui", "fastapi", "starlette", "uvicorn", "alembic", "sqlalchemy", "socketio"}
ENGINE = {"numpy", "cv2", "onnxruntime", "onnx", "ncnn", "PIL"}


def loaded_packages(*args: str, cwd: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Run `main.py ARGS` with `-X importtime`; the top-level packages it imported, and the result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(REPO / "main.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "pixora_ui" in names, done.stderr[-2000:]  # the importtime output was read
    return names, done


def test_edit_help_loads_neither_the_web_server_nor_the_engine(tmp_path: Path) -> None:
    names, done = loaded_packages("edit", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--tool" in done.stdout
    assert not names & WEB_SERVER, names & WEB_SERVER
    assert not names & ENGINE, names & ENGINE


@pytest.mark.parametrize("args", [("--help",), ("models", "list"), ("admin", "--help"), ("bench", "--help")])
def test_other_commands_do_not_load_the_web_server(args: tuple[str, ...], tmp_path: Path) -> None:
    names, done = loaded_packages(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not names & WEB_SERVER, names & WEB_SERVER


def test_an_edit_runs_without_the_web_server(tmp_path: Path) -> None:
    photo = tmp_path / "in.png"
    Image.fromarray(np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3)).save(photo)
    names, done = loaded_packages("edit", str(photo), "--tool", "flip", "-o", str(tmp_path / "out.png"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out.png").is_file()
    assert not names & WEB_SERVER, names & WEB_SERVER


@pytest.mark.models
@pytest.mark.skipif(not (MODELS_DIR / "isnet-medium.onnx").is_file(), reason="ISNet weights not installed")
def test_a_second_cut_out_loads_the_cached_graph_without_onnx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "isnet-medium.onnx").symlink_to(MODELS_DIR / "isnet-medium.onnx")
    monkeypatch.setenv("MODELS_DIR", str(models))
    photo = tmp_path / "in.png"
    Image.fromarray(np.full((60, 80, 3), 200, dtype=np.uint8)).save(photo)
    args = ("edit", str(photo), "--tool", "remove-bg", "-o")
    first, done = loaded_packages(*args, str(tmp_path / "first.png"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "onnx" in first  # the fp32 conversion built the cache
    assert list(models.glob("isnet-medium.onnx.*.optimized.onnx"))
    second, done = loaded_packages(*args, str(tmp_path / "second.png"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "onnx" not in second  # the cached graph needs neither the converter nor its imports
    assert "onnxruntime" in second
    assert not second & WEB_SERVER, second & WEB_SERVER
    assert (tmp_path / "first.png").read_bytes() == (tmp_path / "second.png").read_bytes()
