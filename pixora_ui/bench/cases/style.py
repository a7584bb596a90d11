"""Benchmark cases for the local style filters: each at 12 MP within 1.5 s."""

from __future__ import annotations

from pixora_ui.bench.runner import BenchCase, tool_case
from pixora_ui.engine.ops.style import PRESETS

STYLE_TARGET = {"12 MP": 1.5}


def bench_cases() -> list[BenchCase]:
    return [tool_case(f"style {name}", "style", {"preset": name}, targets=STYLE_TARGET) for name in PRESETS]
