"""The cold-start benchmark row: fresh processes, alternating, a paired ratio against rembg."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pixora_ui.bench import runner
from pixora_ui.bench.cases import cold_start as cold


def test_both_commands_run_as_fresh_processes_in_alternating_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = tmp_path / "order.txt"

    def fake_commands(photo: Path, folder: Path) -> dict[str, list[str]]:
        def script(name: str) -> list[str]:
            code = f"import os; open({str(order)!r}, 'a').write('{name} %d\\n' % os.getpid())"
            return [sys.executable, "-c", code]

        assert photo.read_bytes()[:2] == b"\xff\xd8"  # the benchmark's JPEG
        return {cold.PIXORA_LABEL: script("pixora"), cold.REMBG_LABEL: script("rembg")}

    monkeypatch.setattr(cold, "commands", fake_commands)
    rows = cold.measure("1 MP", 4, "astronaut")
    assert [row.label for row in rows] == [cold.PIXORA_LABEL, cold.REMBG_LABEL, cold.RATIO_LABEL]
    assert all(len(row.times) == 4 and not row.error for row in rows)
    assert rows[0].peak_rss_mb > 0 and rows[1].peak_rss_mb > 0
    ratio = rows[2]
    assert ratio.unit == "x" and ratio.target == cold.RATIO_TARGET
    lines = order.read_text().split()
    names, pids = lines[0::2], lines[1::2]
    # One untimed run of each, then ABBA order; every run is its own process.
    assert names == ["pixora", "rembg", "pixora", "rembg", "rembg", "pixora", "pixora", "rembg", "rembg", "pixora"]
    assert len(set(pids)) == len(pids)
    row = runner._row(cold.bench_cases()[0], ratio)
    assert "<= 0.8 x" in row and row.endswith(("| yes |", "| NO |"))


def test_a_failing_command_fails_its_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_commands(_photo: Path, _folder: Path) -> dict[str, list[str]]:
        failing = [sys.executable, "-c", "import sys; sys.exit('no weights here')"]
        return {cold.PIXORA_LABEL: [sys.executable, "-c", "pass"], cold.REMBG_LABEL: failing}

    monkeypatch.setattr(cold, "commands", fake_commands)
    rows = cold.measure("1 MP", 3, "astronaut")
    assert [row.error for row in rows] == ["exit 1: no weights here"] * 2
