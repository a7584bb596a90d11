"""`main.py bench --quality` on tiny inputs: every tool, case and method is in the table, with numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixora_ui.bench import quality
from pixora_ui.engine.models.weights import is_installed
from pixora_ui.settings import get_settings

METHODS = {
    "cut-out": ["standard", "pro", "rembg", "rembg alpha matting"],
    "upscale": ["lanczos", "fast", "quality"],
    "denoise": ["noisy input", "opencv NLM", "pixora"],
    "retouch": ["pixora 50", "pixora 100"],
    "erase": ["opencv telea", "opencv ns", "pixora"] * 4,
    "expand": ["opencv telea", "mirror + blur", "pixora"] * 2,
}


def test_the_quality_table_has_every_tool_method_and_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert quality.main(["--tiny", "--sheets", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for tool, columns in quality.COLUMNS.items():
        section = printed.split(f"### {tool}\n")[1].strip().split("\n\n")[0].splitlines()
        header, rule, *rows = section
        assert header == "| case | method | " + " | ".join(columns) + " | s |"
        assert rule.count("---") == len(columns) + 3
        assert [row.split(" | ")[1] for row in rows] == METHODS[tool]
        assert all(row.count("|") == len(columns) + 4 for row in rows)  # no cell carries a stray "|"
    # Installed models give numbers; only missing weights may print n/a.
    models = get_settings().models_dir
    if is_installed(models, "isnet-medium") and is_installed(models, "realesrgan-x4plus"):
        assert "n/a" not in printed.split("### retouch")[0]
    # The classical erase keeps the texture that diffusion smears (texture ratio ~1 vs ~0.2 on grass).
    grass = {
        cells[1]: float(cells[3])
        for cells in (line.strip("|").split(" | ") for line in printed.splitlines())
        if cells[0].strip() == "cup pasted on grass"
    }
    assert grass["pixora"] > 3 * grass["opencv telea"]
    sheets = sorted(p.name for p in tmp_path.iterdir())
    assert "erase.png" in sheets and "denoise.png" in sheets
    assert all(p.stat().st_size <= quality.MAX_SHEET_BYTES for p in tmp_path.iterdir())
