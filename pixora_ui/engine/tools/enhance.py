"""Registry entries for upscale, retouch, denoise, magic erase, expand canvas and plain-language edits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.models import faces as face_detector
from pixora_ui.engine.models import isnet, upscale
from pixora_ui.engine.ops import expand as expand_mod
from pixora_ui.engine.ops import inpaint, retouch
from pixora_ui.engine.tools import catalog  # looked up at call time: tests swap catalog.get_registry
from pixora_ui.engine.tools.interpret import Plan, interpret
from pixora_ui.engine.tools.interpret_clauses import PlanStep
from pixora_ui.engine.tools.registry import (
    Box,
    Cancelled,
    ImageArray,
    NeedsGenerativeProvider,
    Param,
    ParamError,
    Progress,
    Tool,
    ToolError,
    ToolResult,
    ToolUnavailable,
    check_cancelled,
    param_number,
    param_text,
)

GENERATIVE_HINT = (
    "configure GEMINI_API_KEY or ImageKit keys (IMAGEKIT_PRIVATE_KEY, IMAGEKIT_PUBLIC_KEY, IMAGEKIT_URL_ENDPOINT) "
    "to use a generative provider."
)


def _format(image: ImageArray) -> Any:
    return "png" if image.shape[2] == 4 else None


def _run_upscale(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    scale = int(params["scale"])
    out = upscale.upscale(
        image,
        scale=scale,
        model=params["model"],
        detail=float(params["detail"]),
        progress=progress,
        cancelled=cancelled,
    )
    h, w = out.shape[:2]
    return ToolResult(
        image=out, format_hint=_format(image), summary=f"Upscaled {scale}x to {w}x{h} ({params['model']})"
    )


def _upscale_available() -> tuple[bool, str]:
    return upscale.available("quality")


def _preload_faces(_params: dict[str, Any]) -> None:
    if face_detector.availability()[0]:
        face_detector.load()


def _run_retouch(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    out, faces = retouch.retouch(image, strength=float(params["strength"]), progress=progress, cancelled=cancelled)
    if faces:
        summary = f"Retouched {faces} face{'s' if faces > 1 else ''} and balanced colour and tone"
    else:
        summary = "No face found: balanced colour and tone only"
    return ToolResult(image=out, format_hint=_format(image), summary=summary)


def _run_denoise(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    out = retouch.denoise(image, strength=float(params["strength"]), progress=progress, cancelled=cancelled)
    return ToolResult(image=out, format_hint=_format(image), summary="Removed noise")


def _run_erase(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    mask = params.get("mask")
    if not isinstance(mask, np.ndarray):
        raise ParamError("Paint over what you want to remove first: the mask is missing.")
    out = inpaint.erase_with_note(image, mask, progress=progress, cancelled=cancelled)
    return ToolResult(image=out.image, format_hint=_format(image), summary="Erased the painted area", note=out.note)


def _subject_mask(image: ImageArray) -> npt.NDArray[np.bool_] | None:
    """The photo's main subject (ISNet), grown by ~1 % of the photo so its rim and halo count too;
    None when the cut-out weights are not installed."""
    if not isnet.availability()[0]:
        return None
    alpha_small, _ = isnet.subject_alpha(image)
    h, w = image.shape[:2]
    grow = max(3, round(0.01 * max(h, w) * alpha_small.shape[1] / w)) | 1
    small = cv2.dilate((alpha_small > 0.5).astype(np.uint8), np.ones((grow, grow), np.uint8))
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST) > 0)


def _run_expand(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    mode = str(params["mode"])
    if mode == "generative":
        raise NeedsGenerativeProvider(f"A generated canvas needs a generative model: {GENERATIVE_HINT}")
    colour = params.get("color")
    subject = None
    if mode == "content-aware":
        progress(0.02, "Finding the subject")
        subject = _subject_mask(image)
    out = expand_mod.expand(
        image,
        aspect=params["aspect"],
        top=float(params["top"]),
        right=float(params["right"]),
        bottom=float(params["bottom"]),
        left=float(params["left"]),
        mode=mode,
        colour=expand_mod.hex_colour(str(colour) if colour else None),
        subject=subject,
        progress=progress,
        cancelled=cancelled,
    )
    h, w = out.image.shape[:2]
    return ToolResult(
        image=out.image,
        format_hint=_format(image),
        summary=f"Expanded the canvas to {w}x{h}",
        note=out.note,
    )


def _expand_needs_generative(params: Mapping[str, Any]) -> bool:
    mode = str(params.get("background") or params.get("mode") or "").lower()
    return mode in {"generative", "generate", "ai"} or bool(param_text(params, "prompt"))


def _expand_preview(params: Mapping[str, Any], width: int, height: int) -> Box | None:
    """The new canvas around the photo (negative x and y: margins added left and above)."""
    try:
        top, right, bottom, left = expand_mod.margins_for(
            height,
            width,
            aspect=str(params.get("aspect") or "none"),
            top=param_number(params, "top"),
            right=param_number(params, "right"),
            bottom=param_number(params, "bottom"),
            left=param_number(params, "left"),
        )
    except expand_mod.ExpandError:
        return None
    if not any((top, right, bottom, left)):
        return None
    return (-left, -top, width + left + right, height + top + bottom)


def _step_params(step: PlanStep, image: ImageArray) -> dict[str, Any]:
    params = dict(step.params)
    if step.tool == "resize" and "percent" in params:
        pct = float(params.pop("percent")) / 100.0
        params["width"] = max(1, round(image.shape[1] * pct))
        params["height"] = max(1, round(image.shape[0] * pct))
        params.setdefault("mode", "fit")
    return params


def run_plan(plan: Plan, image: ImageArray, progress: Progress, cancelled: Cancelled) -> tuple[ImageArray, list[str]]:
    """Run the plan's steps through the registry in order; the messages of what each step did."""
    registry = catalog.get_registry()
    tools = []
    for step in plan.steps:
        if step.tool not in registry:
            raise ToolUnavailable(f"“{step.label}” needs the {step.tool} tool, which is not available here.")
        tool = registry.get(step.tool)
        ok, reason = tool.availability()
        if not ok:
            raise ToolUnavailable(f"“{step.label}” cannot run: {reason}")
        tools.append(tool)
    done: list[str] = []
    current = image
    count = len(plan.steps)
    for index, (step, tool) in enumerate(zip(plan.steps, tools, strict=True)):
        check_cancelled(cancelled)

        def sub(fraction: float, message: str, index: int = index, label: str = step.label) -> None:
            progress((index + max(0.0, min(1.0, fraction))) / count, f"{label}: {message}" if message else label)

        params = tool.validate(_step_params(step, current))
        result = tool.run(current, params, sub, cancelled)
        current = result.image
        done.append(result.summary or step.label)
    return current, done


def _prompt_needs_generative(params: Mapping[str, Any]) -> bool:
    text = param_text(params, "prompt", "instruction", "text")
    return bool(text) and interpret(text).needs_generative


def _run_prompt(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    text = str(params["prompt"])
    plan = interpret(text)
    if plan.needs_generative or not plan.steps:
        reason = plan.reason or "That edit needs a generative model."
        raise NeedsGenerativeProvider(f"{reason.rstrip('.')}: {GENERATIVE_HINT}")
    progress(0.0, f"Plan: {plan.summary}")
    out, done = run_plan(plan, image, progress, cancelled)
    if out.shape == image.shape and np.array_equal(out, image):
        raise ToolError(f"“{text}” left the image unchanged ({plan.summary}); try a stronger wording.")
    return ToolResult(
        image=out,
        format_hint="png" if out.shape[2] == 4 else None,
        summary=plan.summary,
        extras={"plan": [{"tool": s.tool, "params": s.params, "label": s.label} for s in plan.steps], "done": done},
    )


# Retouch and denoise share one strength scale.
_STRENGTH = Param(
    name="strength",
    label="Strength",
    kind="int",
    default=50,
    min=0,
    max=100,
    step=5,
    help="0 changes nothing, 100 is the strongest.",
)

TOOLS: list[Tool] = [
    Tool(
        name="upscale",
        label="Upscale",
        group="enhance",
        description=(
            "Enlarge 2x, 3x or 4x with Real-ESRGAN: quality recovers detail (slow on a CPU, about two minutes "
            "per input megapixel), fast is about 30 times quicker and sharper than a plain resize."
        ),
        run=_run_upscale,
        params=(
            Param(
                name="scale",
                label="Scale",
                kind="choice",
                default="2",
                choices=("2", "3", "4"),
                choice_labels=("2x", "3x", "4x"),
            ),
            Param(
                name="model",
                label="Model",
                kind="choice",
                default="quality",
                choices=("quality", "fast"),
                choice_labels=("Best quality", "Fast"),
            ),
            Param(
                name="detail",
                label="Detail",
                kind="int",
                default=100,
                min=0,
                max=100,
                step=5,
                help="Lower it where the model over-sharpens (brick, grass): blends in a plain resize.",
            ),
        ),
        costs_credit=True,
        icon="zoom_out_map",
        availability=_upscale_available,
        seconds_per_mp=130.0,
    ),
    Tool(
        name="retouch",
        label="Retouch",
        group="enhance",
        description=(
            "One click: smooths skin on faces while eyes, brows, lips and hair stay sharp, removes small "
            "blemishes, and gently fixes white balance, levels, local contrast and sharpness."
        ),
        run=_run_retouch,
        params=(_STRENGTH,),
        costs_credit=True,
        icon="face_retouching_natural",
        seconds_per_mp=0.2,
        preload=_preload_faces,
    ),
    Tool(
        name="denoise",
        label="Remove noise",
        group="enhance",
        description="Removes grain and colour noise (non-local means), keeping edges.",
        run=_run_denoise,
        params=(_STRENGTH,),
        costs_credit=False,
        icon="grain",
        seconds_per_mp=1.5,
    ),
    Tool(
        name="erase",
        label="Magic erase",
        group="generative",
        description=(
            "Paint over something to remove it; the area is filled from its surroundings. Works best on "
            "backgrounds and textures; a generative provider does better where several objects meet."
        ),
        run=_run_erase,
        painted_mask="mask",
        params=(
            Param(
                name="mask",
                label="Area to remove",
                kind="image",
                required=True,
                help="A mask the size of the photo: white = remove.",
            ),
        ),
        costs_credit=True,
        icon="auto_fix_normal",
        seconds_per_mp=0.4,
    ),
    Tool(
        name="expand",
        label="Expand canvas",
        group="generative",
        description=(
            "Make the canvas larger (an aspect ratio or margins) and fill the new area by continuing the "
            "background (never the subject), with a blurred extension or with a colour. It does not invent "
            "new objects; a generative provider does more."
        ),
        run=_run_expand,
        generative_rule=_expand_needs_generative,
        preview_rule=_expand_preview,
        params=(
            Param(
                name="aspect",
                label="Aspect ratio",
                kind="choice",
                default="none",
                choices=("none", *expand_mod.ASPECTS),
                choice_labels=("Keep (margins only)", *expand_mod.ASPECTS),
            ),
            Param(
                name="mode",
                label="Fill",
                kind="choice",
                default="content-aware",
                choices=expand_mod.FILL_MODES,
                choice_labels=("Content-aware", "Blur", "Colour", "Generative"),
                help="Generative is offered when a generative provider is configured.",
            ),
            Param(
                name="color",
                label="Colour (for the colour fill)",
                kind="color",
                default="#ffffff",
                help="Used by the colour fill.",
            ),
            Param(name="top", label="Top (% of height)", kind="float", default=0.0, min=0, max=100, step=1),
            Param(name="right", label="Right (% of width)", kind="float", default=0.0, min=0, max=100, step=1),
            Param(name="bottom", label="Bottom (% of height)", kind="float", default=0.0, min=0, max=100, step=1),
            Param(name="left", label="Left (% of width)", kind="float", default=0.0, min=0, max=100, step=1),
        ),
        costs_credit=True,
        icon="open_in_full",
        seconds_per_mp=0.5,
    ),
    Tool(
        name="prompt",
        label="Describe an edit",
        group="generative",
        description=(
            "Say what you want in plain words (“remove the background and make it square”, “a bit warmer”). "
            "Local tools do what they can; anything new (“add a hat”) needs a generative provider."
        ),
        run=_run_prompt,
        generative_rule=_prompt_needs_generative,
        params=(
            Param(
                name="prompt",
                label="Edit",
                kind="text",
                required=True,
                max_length=500,
                help="For example: make it black and white and crop to 16:9.",
            ),
        ),
        costs_credit=True,
        icon="chat",
        seconds_per_mp=1.0,
    ),
]
