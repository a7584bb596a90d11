"""Every tool of the engine in one registry, shared by the studio, the job runner, the CLI and the API.

Each tool module exposes `TOOLS: list[Tool]`; a new module is imported and listed here. The order
of the modules is the order the studio's palette shows the tools in.
"""

from __future__ import annotations

from functools import cache

from pixora_ui.engine.tools.registry import ToolRegistry


@cache
def get_registry() -> ToolRegistry:
    # Imported on first use, not with this module: the tools load numpy, OpenCV and the model
    # runtimes, which the command line's help and the web server's start do without.
    from pixora_ui.engine.tools import (  # noqa: PLC0415 - numpy/OpenCV/model runtimes kept out of start-up
        background,
        basic,
        create,
        crop,
        cutout,
        enhance,
        style,
    )

    registry = ToolRegistry()
    for module in (cutout, background, crop, basic, enhance, style, create):
        registry.extend(module.TOOLS)
    return registry
