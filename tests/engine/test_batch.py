"""`main.py edit`: files, folders and globs, a bad file reported and skipped, skip-existing."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pixora_ui import batch, cli
from pixora_ui.batch import expand_inputs, run_batch
from pixora_ui.engine.tools.registry import Tool, ToolError, ToolRegistry, ToolResult
from tests.engine.conftest import needs_isnet


@pytest.fixture
def photos(tmp_path: Path, photo: Callable[[str], np.ndarray]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("chelsea", "coffee"):
        cv2.imwrite(str(folder / f"{name}.jpg"), photo(name)[:, :, ::-1])
    Image.fromarray(photo("rocket")).save(folder / "rocket.png")
    (folder / "notes.jpg").write_text("not a photo")
    (folder / "readme.txt").write_text("ignored: not an image name")
    return folder


def run(
    inputs: list[str], out: Path, *params: str, tool: str = "adjust", fmt: str | None = None, skip: bool = False
) -> tuple[int, str]:
    stream = io.StringIO()
    code = run_batch(
        inputs=inputs,
        tool=tool,
        raw_params=list(params),
        output=out,
        output_format=fmt,
        skip_existing=skip,
        stream=stream,
    )
    return code, stream.getvalue()


def test_folder_with_a_bad_file_keeps_going(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, log = run([str(photos)], out, "sepia=true")
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["chelsea.jpg", "coffee.jpg", "rocket.jpg"]
    assert "notes.jpg: FAILED: The file is not an image Pixora can read" in log
    assert "3 written, 0 skipped, 1 failed" in log
    assert "[########################] 4/4" in log
    sepia = np.asarray(Image.open(out / "coffee.jpg")).astype(float)
    assert sepia[:, :, 0].mean() > sepia[:, :, 2].mean()


def test_glob_and_format_and_skip_existing(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, log = run([str(photos / "c*.jpg")], out, "angle=90", tool="rotate", fmt="webp")
    assert code == 0, log
    assert sorted(p.name for p in out.iterdir()) == ["chelsea.webp", "coffee.webp"]
    assert Image.open(out / "coffee.webp").size == (400, 600)
    (out / "coffee.webp").write_bytes(b"keep me")
    code, log = run([str(photos / "c*.jpg")], out, "angle=90", tool="rotate", fmt="webp", skip=True)
    assert code == 0
    assert "0 written, 2 skipped, 0 failed" in log
    assert (out / "coffee.webp").read_bytes() == b"keep me"


def test_single_file_to_named_output(photos: Path, tmp_path: Path) -> None:
    target = tmp_path / "result.png"
    code, _log = run([str(photos / "rocket.png")], target, "width=100", tool="resize")
    assert code == 0
    assert Image.open(target).size == (100, 67)
    assert Image.open(target).format == "PNG"


def test_errors_before_starting(photos: Path, tmp_path: Path) -> None:
    code, log = run([str(photos)], tmp_path / "o", tool="sharpen-everything")
    assert code == 2 and "Unknown tool 'sharpen-everything'; choose from" in log
    code, log = run([str(photos)], tmp_path / "o", "exposure=9")
    assert code == 2 and "Exposure (EV) must be at most 3" in log
    code, log = run([str(photos)], tmp_path / "o", "exposure")
    assert code == 2 and "must look like name=value" in log
    code, log = run([str(tmp_path / "nothing-*.jpg")], tmp_path / "o")
    assert code == 2 and "No photos found" in log


def test_missing_models_stop_the_batch(photos: Path, tmp_path: Path, no_models: None) -> None:
    code, log = run([str(photos)], tmp_path / "o", tool="remove-bg")
    assert code == 2
    assert "Remove background is not available: models not installed: run `python main.py models install`" in log


def test_expand_inputs_deduplicates(photos: Path) -> None:
    files, missing = expand_inputs([str(photos / "coffee.jpg"), str(photos), str(photos / "*.png"), "nope.jpg"])
    assert [f.name for f in files] == ["coffee.jpg", "chelsea.jpg", "notes.jpg", "rocket.png"]
    assert missing == ["nope.jpg"]


@pytest.mark.models
@needs_isnet
def test_cli_remove_bg_with_mode_and_background_image(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "cut"
    code = cli.main(
        ["edit", str(photos / "coffee.jpg"), "--tool", "remove-bg", "--mode", "pro", "-o", str(out)],
        run_server=lambda *a, **k: None,
    )
    assert code == 0
    cut = Image.open(out / "coffee.png")
    assert cut.mode == "RGBA" and cut.size == (600, 400)
    code, log = run(
        [str(photos / "coffee.jpg")],
        tmp_path / "bg",
        f"image={photos / 'rocket.png'}",
        "background=image",
        tool="change-bg",
    )
    assert code == 0, log
    assert Image.open(tmp_path / "bg" / "coffee.jpg").size == (600, 400)


def test_models_load_in_a_thread_while_the_first_photo_is_decoded(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    decoding = threading.Event()
    loaded = threading.Event()
    seen: dict[str, object] = {}
    real_read = batch._read

    def read(path: Path) -> np.ndarray:
        decoding.set()
        return real_read(path)

    def preload(params: dict[str, object]) -> None:
        seen["thread"] = threading.current_thread().name
        seen["params"] = params
        # Waits for the decode of the first photo: a preload run before it, in the same thread, never sees it.
        seen["overlapped"] = decoding.wait(timeout=60)
        loaded.set()

    def run_tool(image: np.ndarray, _params: dict[str, object], _progress: object, _cancelled: object) -> ToolResult:
        seen["loaded before the run"] = loaded.wait(timeout=60)  # as a session lock would make it wait
        return ToolResult(image=image)

    registry = ToolRegistry()
    registry.add(Tool(name="fake", label="Fake", group="adjust", description="", run=run_tool, preload=preload))
    monkeypatch.setattr(batch, "get_registry", lambda: registry)
    monkeypatch.setattr(batch, "_read", read)
    code, log = run([str(photos / "coffee.jpg")], tmp_path / "out", tool="fake")
    assert code == 0, log
    assert seen["thread"] != threading.current_thread().name
    assert seen["overlapped"] is True
    assert seen["loaded before the run"] is True
    assert seen["params"] == {}


def test_a_failing_preload_leaves_the_error_to_the_run(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    def preload(_params: dict[str, object]) -> None:
        raise RuntimeError("no model")

    def run_tool(*_args: object) -> object:
        raise ToolError("The model is not installed.")

    registry = ToolRegistry()
    registry.add(Tool(name="fake", label="Fake", group="adjust", description="", run=run_tool, preload=preload))  # type: ignore[arg-type]
    monkeypatch.setattr(batch, "get_registry", lambda: registry)
    code, log = run([str(photos / "coffee.jpg")], tmp_path / "out", tool="fake")
    assert code == 1
    assert "FAILED: The model is not installed." in log
