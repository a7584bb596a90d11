"""Registry entry for `generate` (text-to-image): a new picture from a description.

It runs only on a generative provider (Gemini, or ImageKit's text-to-image); the local engine cannot
make one, so `local=False` and the router never offers it there. It takes no input photo: the job's
result becomes a new photo in the library, named "Created from: <prompt>".
"""

from __future__ import annotations

from typing import Any

from pixora_ui.engine.tools.create_options import ASPECTS
from pixora_ui.engine.tools.registry import (
    Cancelled,
    ImageArray,
    NeedsGenerativeProvider,
    Param,
    Progress,
    Tool,
    ToolResult,
)

GENERATE_TOOL = "generate"
NAME_PREFIX = "Created from: "


def photo_name(prompt: str) -> str:
    """The library name of a created picture (at most 120 characters)."""
    text = " ".join(prompt.split())
    return NAME_PREFIX + (text if len(text) <= 100 else text[:99].rstrip() + "…")


def aspect_size(aspect: str, long_side: int = 1024) -> tuple[int, int]:
    """(width, height) of `aspect` with the given long side."""
    w, h = (int(x) for x in aspect.split(":"))
    if w >= h:
        return long_side, round(long_side * h / w)
    return round(long_side * w / h), long_side


def _run(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    raise NeedsGenerativeProvider("Creating pictures needs Gemini or ImageKit on this server.")


TOOLS: list[Tool] = [
    Tool(
        name=GENERATE_TOOL,
        label="Create",
        group="generative",
        description="A new picture from a description, in the library as a new photo.",
        run=_run,
        params=(
            Param(
                name="prompt",
                label="Describe the picture",
                kind="text",
                required=True,
                help="a red bicycle on a beach at sunset",
                max_length=1000,
            ),
            Param(name="aspect", label="Shape", kind="choice", default="1:1", choices=ASPECTS),
        ),
        costs_credit=True,
        icon="brush",
        seconds_per_mp=20.0,
        local=False,
        takes_photo=False,
    ),
]
