"""Change background: behind the cut-out put a colour, a gradient, a blurred copy or another image.

The cut-out is the same as remove-bg's (edge-cleaned colours and full-resolution alpha); an
optional soft shadow is cast on the new background under the subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.models import isnet
from pixora_ui.engine.ops import matting
from pixora_ui.engine.tools.cutout import MODE_PARAM, cut_out
from pixora_ui.engine.tools.registry import (
    Cancelled,
    ImageArray,
    NeedsGenerativeProvider,
    Param,
    ParamError,
    Progress,
    Tool,
    ToolResult,
    check_cancelled,
    param_text,
)

FloatArray = npt.NDArray[np.float32]
# Modes that need no generation (this tool's choices, and names other clients send).
_LOCAL_BACKGROUND_MODES = frozenset({"color", "colour", "blur", "gradient", "image", "transparent"})


def hex_rgb(color: str) -> tuple[int, int, int]:
    text = color.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def solid(width: int, height: int, color: str) -> ImageArray:
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[:] = hex_rgb(color)
    return out


def gradient(width: int, height: int, start: str, end: str, angle: float) -> ImageArray:
    """A linear two-colour gradient; angle 90 runs top to bottom, 0 left to right."""
    theta = np.deg2rad(angle)
    dx, dy = float(np.cos(theta)), float(np.sin(theta))
    # Computed on a small grid and stretched: a linear ramp survives linear interpolation exactly.
    gw, gh = min(width, 256), min(height, 256)
    xs = (np.arange(gw, dtype=np.float32) + 0.5) / gw - 0.5
    ys = (np.arange(gh, dtype=np.float32) + 0.5) / gh - 0.5
    t = xs[None, :] * dx + ys[:, None] * dy
    span = 0.5 * (abs(dx) + abs(dy))
    t = np.clip((t + span) / (2 * span), 0.0, 1.0)[:, :, None]
    a = np.asarray(hex_rgb(start), dtype=np.float32)
    b = np.asarray(hex_rgb(end), dtype=np.float32)
    small = (a * (1.0 - t) + b * t).astype(np.float32)
    big = np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    return np.asarray(np.clip(big + 0.5, 0, 255), dtype=np.uint8)


def portrait_blur(image: ImageArray, alpha: npt.NDArray[np.uint8], strength: float) -> ImageArray:
    """The photo's own background, blurred, with the subject's colours kept out of the blur.

    Blurs the background weighted by (1 - alpha) and divides by the blurred weight, so no halo of
    the subject spreads around it; done at ~1000 px and stretched back, which a blur allows.
    """
    h, w = image.shape[:2]
    factor = matting.shrink_factor(h, w, 1000)
    small = matting.area_shrink(np.ascontiguousarray(image[:, :, :3]), factor).astype(np.float32)
    weight = 1.0 - matting.area_shrink(alpha, factor).astype(np.float32) / 255.0
    weight = np.clip(weight * 1.5 - 0.25, 0.0, 1.0)  # only clear background feeds the blur
    sigma = max(0.5, strength / 100.0 * max(small.shape[:2]) / 40.0)
    blurred = cv2.GaussianBlur(small * weight[:, :, None], (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)[:, :, None]
    plain = cv2.GaussianBlur(small, (0, 0), sigma)
    mixed = np.where(norm > 1e-3, blurred / np.maximum(norm, 1e-3), plain)
    big = np.asarray(cv2.resize(mixed.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    return np.asarray(np.clip(big + 0.5, 0, 255), dtype=np.uint8)


def place_image(background: ImageArray, width: int, height: int, fit: str, fill: str) -> ImageArray:
    """Another photo resized to cover the canvas (cropped centred) or to fit in it (padded)."""
    bh, bw = background.shape[:2]
    rgb = background[:, :, :3]
    if background.shape[2] == 4:
        rgb = _over(rgb, background[:, :, 3], solid(bw, bh, fill))
    scale = max(width / bw, height / bh) if fit == "cover" else min(width / bw, height / bh)
    nw, nh = max(1, round(bw * scale)), max(1, round(bh * scale))
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    if fit == "cover":
        x, y = (nw - width) // 2, (nh - height) // 2
        return np.ascontiguousarray(resized[y : y + height, x : x + width])
    canvas = solid(width, height, fill)
    x, y = (width - nw) // 2, (height - nh) // 2
    canvas[y : y + nh, x : x + nw] = resized
    return canvas


def drop_shadow(background: ImageArray, alpha: npt.NDArray[np.uint8], opacity: float = 0.45) -> ImageArray:
    """A soft contact shadow: the subject's silhouette squashed under it, offset down and blurred."""
    h, w = background.shape[:2]
    factor = matting.shrink_factor(h, w, 500)
    small = matting.area_shrink(alpha, factor).astype(np.float32) / 255.0
    sh, sw = small.shape
    rows = np.flatnonzero(small.max(axis=1) > 0.1)
    if rows.size == 0:
        return background
    bottom = int(rows[-1])
    # Squash the silhouette to a third of its height, anchored at the subject's feet.
    squash = 0.3
    matrix = np.asarray([[1, 0, 0.02 * sw], [0, squash, bottom * (1 - squash) + 0.01 * sh]], dtype=np.float32)
    shadow = cv2.warpAffine(small, matrix, (sw, sh), flags=cv2.INTER_LINEAR)
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, 0.02 * max(sh, sw)))
    big = np.asarray(cv2.resize(shadow, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    shade = (1.0 - opacity * big)[:, :, None]
    return np.clip(background.astype(np.float32) * shade + 0.5, 0, 255).astype(np.uint8)


def _over(foreground: ImageArray, alpha: npt.NDArray[np.uint8], background: ImageArray) -> ImageArray:
    a = alpha.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.asarray(
        cv2.blendLinear(np.ascontiguousarray(foreground[:, :, :3]), np.ascontiguousarray(background), a, 1.0 - a),
        dtype=np.uint8,
    )


def _run(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    kind = str(params["background"])
    if kind == "generative":
        raise NeedsGenerativeProvider(
            "A described background is drawn by a generative AI service, and none is connected to this server. "
            "Choose a colour, a gradient, a blur or another of your photos instead."
        )
    other = params.get("image")
    if kind == "image" and not isinstance(other, np.ndarray):
        raise ParamError("Choose the image to put behind the subject")
    rgba = cut_out(image, str(params["mode"]), lambda f, m: progress(f * 0.8, m), cancelled)
    foreground, alpha = rgba[:, :, :3], rgba[:, :, 3]
    check_cancelled(cancelled)
    progress(0.85, "Composing the new background")
    h, w = image.shape[:2]
    if kind == "color":
        background = solid(w, h, str(params["color"]))
    elif kind == "gradient":
        background = gradient(w, h, str(params["color"]), str(params["color2"]), float(params["angle"]))
    elif kind == "blur":
        background = portrait_blur(image, alpha, float(params["blur"]))
    else:
        assert isinstance(other, np.ndarray)
        background = place_image(other, w, h, str(params["fit"]), str(params["color"]))
    if params["shadow"] and kind != "blur":
        background = drop_shadow(background, alpha)
    result = _over(foreground, alpha, background)
    return ToolResult(image=result, format_hint="jpeg", summary=f"New background: {kind}")


def _needs_generative(params: Mapping[str, Any]) -> bool:
    """A background described in words (API clients, the plain-language edit) is generated."""
    mode = str(params.get("background") or params.get("mode") or "").lower()
    return mode in {"prompt", "generate", "generative", "ai"} or (
        bool(param_text(params, "prompt", "background_prompt")) and mode not in _LOCAL_BACKGROUND_MODES
    )


CHANGE_BG = Tool(
    name="change-bg",
    label="Change background",
    group="background",
    description="Put a colour, a gradient, a blurred backdrop or another photo behind the subject.",
    run=_run,
    generative_rule=_needs_generative,
    params=(
        Param(
            name="background",
            label="Background",
            kind="choice",
            default="color",
            choices=("color", "gradient", "blur", "image", "generative"),
            choice_labels=("Colour", "Gradient", "Blur (portrait mode)", "Another image", "Describe it (AI)"),
        ),
        Param(
            name="prompt",
            label="Describe the new background",
            kind="text",
            default="",
            help="For example: a sunny beach at golden hour",
            max_length=300,
            only_with=("background", ("generative",)),
        ),
        Param(
            name="color",
            label="Colour",
            kind="color",
            default="#ffffff",
            only_with=("background", ("color", "gradient", "image")),
        ),
        Param(
            name="color2",
            label="Second colour",
            kind="color",
            default="#c7d2fe",
            only_with=("background", ("gradient",)),
        ),
        Param(
            name="angle",
            label="Gradient direction (degrees)",
            kind="int",
            default=90,
            min=0,
            max=359,
            only_with=("background", ("gradient",)),
        ),
        Param(
            name="blur",
            label="Blur strength",
            kind="int",
            default=40,
            min=1,
            max=100,
            only_with=("background", ("blur",)),
        ),
        Param(name="image", label="Background image", kind="image", only_with=("background", ("image",))),
        Param(
            name="fit",
            label="Image placement",
            kind="choice",
            default="cover",
            choices=("cover", "fit"),
            choice_labels=("Cover (crop to fill)", "Fit (whole image, padded with the colour)"),
            only_with=("background", ("image",)),
        ),
        Param(
            name="shadow",
            label="Soft shadow under the subject",
            kind="bool",
            default=False,
            only_with=("background", ("color", "gradient", "image")),
        ),
        replace(MODE_PARAM, only_with=("background", ("color", "gradient", "blur", "image"))),
    ),
    costs_credit=True,
    icon="wallpaper",
    availability=isnet.availability,
    preload=isnet.preload,
    seconds_per_mp=0.25,
)

TOOLS: list[Tool] = [CHANGE_BG]
