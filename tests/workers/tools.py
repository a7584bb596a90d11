"""Test tools for engine worker processes (ENGINE_TOOL_REGISTRY=tests.workers.tools:build_registry)."""

from __future__ import annotations

import os
from typing import Any

from pixora_ui.engine.tools.registry import ImageArray, Tool, ToolRegistry, ToolResult
from tests.services.conftest import build_test_registry


def _abort(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    progress(0.1, "About to crash…")
    os.abort()  # takes the whole process down, as a segfault in a native library would


def _hog(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    progress(0.1, "Allocating…")
    blocks = []
    while True:  # touches memory until the supervisor's cap kills the process
        blocks.append(bytearray(64 << 20))
        for offset in range(0, len(blocks[-1]), 4096):
            blocks[-1][offset] = 1


def build_registry() -> ToolRegistry:
    registry = build_test_registry()
    registry.add(Tool(name="t-abort", label="Abort", group="adjust", description="test", run=_abort))
    registry.add(Tool(name="t-hog", label="Hog", group="adjust", description="test", run=_hog))
    return registry
