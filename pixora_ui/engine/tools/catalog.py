"""Builds the one tool registry from every tool module of the engine.

Tool modules expose `TOOLS: list[Tool]`; adding a module to `_TOOL_MODULES` is all it takes for
the studio, the job runner, the CLI and the API to offer it.
"""

from __future__ import annotations

import importlib
from functools import cache

from pixora_ui.engine.tools.registry import ToolRegistry

_TOOL_MODULES: tuple[str, ...] = (
    "pixora_ui.engine.tools.cutout",
    "pixora_ui.engine.tools.background",
    "pixora_ui.engine.tools.crop",
    "pixora_ui.engine.tools.basic",
    "pixora_ui.engine.tools.enhance",
    "pixora_ui.engine.tools.style",
    "pixora_ui.engine.tools.create",
)


@cache
def get_registry() -> ToolRegistry:
    registry = ToolRegistry()
    for module_name in _TOOL_MODULES:
        module = importlib.import_module(module_name)
        registry.extend(module.TOOLS)
    return registry
