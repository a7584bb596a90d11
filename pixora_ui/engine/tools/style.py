"""Registry entry for `style`: local filters (free) and AI restyling (one AI edit).

- Filters (`preset`, `strength`) run here, on the engine executor, in about a second at 12 MP.
- A style sentence (`prompt`, e.g. "as a 1950s travel poster") and/or a `reference` photo ask for a
  generative restyle: the local engine hands the request to Gemini or ImageKit (providers.router),
  and only that kind of request costs a credit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pixora_ui.engine.ops import style
from pixora_ui.engine.tools.registry import (
    Cancelled,
    ImageArray,
    NeedsGenerativeProvider,
    Param,
    Progress,
    Tool,
    ToolResult,
    check_cancelled,
)

STYLE_TOOL = "style"
RESTYLE_HINT = "AI restyling needs a Gemini key or ImageKit on this server; the filters work without them."


def is_generative(params: Mapping[str, Any]) -> bool:
    """A style sentence or a reference photo asks for an AI restyle rather than a filter."""
    prompt = params.get("prompt")
    return bool(isinstance(prompt, str) and prompt.strip()) or params.get("reference") not in (None, "")


def restyle_instruction(prompt: str, *, with_reference: bool) -> str:
    """What a generative provider is asked: the new look, and to keep the photo's composition."""
    keep = (
        "Keep the composition exactly: the same subjects in the same places, poses, proportions, framing "
        "and perspective. Change only the rendering style, colours and texture."
    )
    if with_reference and prompt:
        look = f"Restyle the first image {prompt}, in the visual style of the second image."
    elif with_reference:
        look = "Restyle the first image in the visual style of the second image (its medium, palette and texture)."
    else:
        look = f"Restyle this photo {prompt}."
    return f"{look} {keep} Do not copy any content from a style reference. Return the restyled image."


def _run(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    if is_generative(params):
        raise NeedsGenerativeProvider(RESTYLE_HINT)
    preset = style.preset_name(str(params["preset"]))
    progress(0.1, f"Applying {style.PRESETS[preset].label.lower()}")
    check_cancelled(cancelled)
    out = style.apply_style(image, preset, float(params["strength"]))
    check_cancelled(cancelled)
    strength = float(params["strength"])
    amount = "" if strength >= 100 else f" at {strength:g}%"
    return ToolResult(
        image=out,
        format_hint="png" if image.shape[2] == 4 else None,
        summary=f"Style: {style.PRESETS[preset].label}{amount}",
    )


TOOLS: list[Tool] = [
    Tool(
        name=STYLE_TOOL,
        label="Style",
        group="enhance",
        description=(
            "Filters that run here for free: pencil sketch, watercolour, painting, cartoon, duotone, vintage "
            "film, high key and low key. With an AI provider, describe any style instead (one AI edit)."
        ),
        run=_run,
        params=(
            Param(
                name="preset",
                label="Filter",
                kind="choice",
                default="pencil",
                choices=tuple(style.PRESETS),
                choice_labels=tuple(p.label for p in style.PRESETS.values()),
            ),
            Param(name="strength", label="Strength", kind="int", default=100, min=0, max=100, step=5),
            Param(
                name="prompt",
                label="Describe a style (AI)",
                kind="text",
                default="",
                help="as a 1950s travel poster",
                max_length=300,
            ),
            Param(name="reference", label="Style of another photo (AI)", kind="image", default=None),
        ),
        costs_credit=False,
        credit_rule=is_generative,
        generative_rule=is_generative,
        icon="palette",
        seconds_per_mp=0.1,
    ),
]
