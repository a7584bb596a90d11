"""The "prompt" tool runs the interpreter's plan through the registry, or refuses in one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from pixora_ui.engine.ops import imageio
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import NeedsGenerativeProvider, ToolError
from tests.engine.conftest import require_model

REPO = Path(__file__).resolve().parents[3]


def _run(image: np.ndarray, prompt: str) -> tuple[np.ndarray, str]:
    tool = get_registry().get("prompt")
    messages: list[str] = []
    result = tool.run(image, tool.validate({"prompt": prompt}), lambda _f, m: messages.append(m), lambda: False)
    return result.image, result.summary


def test_tool_is_registered() -> None:
    tool = get_registry().get("prompt")
    assert tool.group == "generative"
    assert tool.param("prompt").required
    assert tool.costs_credit


def test_black_and_white() -> None:
    out, summary = _run(data.coffee(), "make it black and white")
    assert out.shape == data.coffee().shape
    assert np.abs(out[:, :, 0].astype(int) - out[:, :, 2].astype(int)).max() <= 2
    assert "Black and white" in summary


def test_combination_of_steps() -> None:
    image = data.coffee()  # 400 x 600
    out, summary = _run(image, "rotate left and flip it, then make it a bit brighter")
    assert out.shape == (600, 400, 3)
    assert out.mean() > np.rot90(image).mean()
    assert "Rotate" in summary
    assert "Brightness" in summary


def test_resize_by_percent() -> None:
    out, _ = _run(data.coffee(), "make it smaller")
    assert out.shape == (200, 300, 3)


def test_generative_request_is_refused_with_what_to_configure() -> None:
    with pytest.raises(NeedsGenerativeProvider, match="GEMINI_API_KEY") as info:
        _run(data.coffee(), "make the car red")
    assert "make the car red" in str(info.value)


def test_never_reports_success_with_an_unchanged_image() -> None:
    gray = np.dstack([data.camera()[:200, :200]] * 3)
    with pytest.raises(ToolError, match="unchanged"):
        _run(gray, "black and white")


@pytest.mark.models
def test_remove_background_and_make_it_square() -> None:
    require_model("isnet-medium")
    out, summary = _run(data.chelsea(), "remove the background and make it square")
    assert out.shape[0] == out.shape[1]
    assert out.shape[2] == 4
    assert (out[:, :, 3] < 10).any() and (out[:, :, 3] > 245).any()
    assert "background" in summary.lower()


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    return subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_prompt_edit_and_refusal(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(imageio.encode(np.ascontiguousarray(data.coffee()), "png"))
    done = _cli(
        ["edit", str(source), "--tool", "prompt", "--param", "prompt=make it black and white", "-o", "out.png"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = imageio.decode((tmp_path / "out.png").read_bytes(), max_bytes=10**8, max_pixels=10**8).pixels
    assert np.abs(out[:, :, 0].astype(int) - out[:, :, 1].astype(int)).max() <= 2
    refused = _cli(["edit", str(source), "--tool", "prompt", "--param", "prompt=add a hat", "-o", "hat.png"], tmp_path)
    assert refused.returncode != 0
    assert "GEMINI_API_KEY" in refused.stderr
    assert not (tmp_path / "hat.png").exists()
