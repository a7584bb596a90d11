"""Free basic edits: crop, resize, rotate, flip, format and quality, adjustments.

Each works on 12 MP in well under 0.4 s: colour adjustments are folded into one lookup table per
channel plus one 3x3 colour matrix (both single passes in OpenCV), rotations by quarter turns are
index shuffles, and only sharpening needs a blur.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.tools.registry import (
    Box,
    Cancelled,
    ImageArray,
    Param,
    ParamError,
    Progress,
    Tool,
    ToolResult,
    param_number,
)

FloatArray = npt.NDArray[np.float32]
MAX_OUTPUT_PIXELS = 100_000_000
_LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


def _hex_rgb(color: str) -> tuple[int, int, int]:
    text = color.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _fill(image: ImageArray, color: str, transparent: bool = False) -> tuple[int, ...]:
    rgb = _hex_rgb(color)
    if image.shape[2] == 4:
        return (*rgb, 0 if transparent else 255)
    return rgb


def _format_hint(image: ImageArray) -> Any:
    return "png" if image.shape[2] == 4 else None


# --- crop -----------------------------------------------------------------------------------------------


def _crop(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    height, width = image.shape[:2]
    x, y = int(params["x"]), int(params["y"])
    w = int(params["width"]) or width - x
    h = int(params["height"]) or height - y
    if x >= width or y >= height or w <= 0 or h <= 0:
        raise ParamError(f"The crop box lies outside the {width}x{height} image")
    w, h = min(w, width - x), min(h, height - y)
    return ToolResult(
        image=np.ascontiguousarray(image[y : y + h, x : x + w]),
        box=(x, y, w, h),
        format_hint=_format_hint(image),
        summary=f"Cropped to {w}x{h}",
    )


def _crop_preview(params: Mapping[str, Any], width: int, height: int) -> Box | None:
    """The rectangle the crop keeps, clamped like the tool clamps it; None when it keeps everything."""
    x = max(0, min(round(param_number(params, "x")), width - 1))
    y = max(0, min(round(param_number(params, "y")), height - 1))
    w, h = round(param_number(params, "width")), round(param_number(params, "height"))
    # 0 means "to the edge", like the tool itself.
    w = width - x if w <= 0 else min(w, width - x)
    h = height - y if h <= 0 else min(h, height - y)
    if (x, y, w, h) == (0, 0, width, height):
        return None
    return (x, y, w, h)


# --- resize ----------------------------------------------------------------------------------------------


def _resized(image: ImageArray, width: int, height: int) -> ImageArray:
    if width * height > MAX_OUTPUT_PIXELS:
        raise ParamError(f"{width}x{height} is larger than the {MAX_OUTPUT_PIXELS // 1_000_000} MP output limit")
    h, w = image.shape[:2]
    if (width, height) == (w, h):
        return image
    interpolation = cv2.INTER_AREA if width * height < w * h else cv2.INTER_CUBIC
    src = image
    factor = min(w // max(1, width), h // max(1, height))
    if interpolation == cv2.INTER_AREA and factor >= 2:
        # A whole-factor area shrink first: several times cheaper than INTER_AREA at an odd ratio.
        src = np.asarray(cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.asarray(cv2.resize(src, (width, height), interpolation=interpolation), dtype=np.uint8)


def _resize(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    h, w = image.shape[:2]
    tw, th = int(params["width"]), int(params["height"])
    mode = str(params["mode"])
    if tw == 0 and th == 0:
        raise ParamError("Give a width, a height or both")
    if tw == 0 or th == 0:  # one side given: keep the proportions
        scale = tw / w if tw else th / h
        out = _resized(image, max(1, round(w * scale)), max(1, round(h * scale)))
    elif mode == "fill":
        scale = max(tw / w, th / h)
        big = _resized(image, max(tw, round(w * scale)), max(th, round(h * scale)))
        x, y = (big.shape[1] - tw) // 2, (big.shape[0] - th) // 2
        out = np.ascontiguousarray(big[y : y + th, x : x + tw])
    else:
        scale = min(tw / w, th / h)
        fitted = _resized(image, max(1, round(w * scale)), max(1, round(h * scale)))
        if mode == "fit":
            out = fitted
        else:
            out = np.empty((th, tw, image.shape[2]), dtype=np.uint8)
            out[:] = _fill(image, str(params["color"]))
            fh, fw = fitted.shape[:2]
            x, y = (tw - fw) // 2, (th - fh) // 2
            out[y : y + fh, x : x + fw] = fitted
    return ToolResult(
        image=out, format_hint=_format_hint(image), summary=f"Resized to {out.shape[1]}x{out.shape[0]} ({mode})"
    )


# --- rotate and flip -----------------------------------------------------------------------------------


def _rotate(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    angle = float(params["angle"]) % 360.0
    transparent = bool(params["transparent"])
    if angle == 0:
        return ToolResult(image=image, format_hint=_format_hint(image), summary="Not rotated")
    if angle in (90.0, 180.0, 270.0):  # counter-clockwise quarter turns are exact and cheap
        out = np.ascontiguousarray(np.rot90(image, int(angle // 90)))
        return ToolResult(image=out, format_hint=_format_hint(image), summary=f"Rotated {angle:g} degrees")
    src = image
    if transparent and image.shape[2] == 3:
        src = np.dstack([image, np.full(image.shape[:2], 255, dtype=np.uint8)])
    h, w = src.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = round(h * sin + w * cos), round(h * cos + w * sin)
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    rotated = cv2.warpAffine(
        src,
        matrix,
        (nw, nh),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_fill(src, str(params["color"]), transparent),
    )
    return ToolResult(
        image=np.asarray(rotated, dtype=np.uint8), format_hint=_format_hint(src), summary=f"Rotated {angle:g} degrees"
    )


def _flip(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    vertical = params["direction"] == "vertical"
    out = np.ascontiguousarray(image[::-1] if vertical else image[:, ::-1])
    return ToolResult(image=out, format_hint=_format_hint(image), summary=f"Flipped {params['direction']}ly")


# --- format -------------------------------------------------------------------------------------------------


def _convert(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    fmt = str(params["format"])
    quality = int(params["quality"])
    note = ""
    if fmt == "jpeg" and image.shape[2] == 4:
        note = "JPEG has no transparency: transparent areas become white."
    return ToolResult(
        image=image,
        format_hint=fmt,  # type: ignore[arg-type]
        note=note,
        summary=f"Saved as {fmt.upper()}" + ("" if fmt == "png" else f" at quality {quality}"),
        extras={"quality": quality},
    )


# --- adjustments -------------------------------------------------------------------------------------------


def _srgb_to_linear(x: FloatArray) -> FloatArray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _linear_to_srgb(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def adjustment_luts(params: dict[str, Any]) -> list[npt.NDArray[np.uint8]]:
    """One 256-entry table per channel (R, G, B) for exposure, warmth, brightness and contrast."""
    x = np.arange(256, dtype=np.float32) / 255.0
    exposure = float(params["exposure"])
    warmth = float(params["warmth"]) / 100.0
    brightness = float(params["brightness"]) / 100.0
    contrast = float(params["contrast"]) / 100.0
    tables = []
    for gain in (1.0 + 0.15 * warmth, 1.0, 1.0 - 0.15 * warmth):
        y = _linear_to_srgb(_srgb_to_linear(x) * np.float32(2.0**exposure) * np.float32(gain))
        # Brightness lifts or lowers the mid-tones (a gamma curve), keeping black and white.
        if brightness:
            y = np.clip(y, 0.0, 1.0) ** np.float32(1.0 / (1.0 + brightness) if brightness > 0 else 1.0 - brightness)
        if contrast:
            y = (y - 0.5) * np.float32(1.0 + contrast) + 0.5
        tables.append(np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return tables


def colour_matrix(params: dict[str, Any]) -> FloatArray | None:
    """The 3x3 RGB matrix for saturation, black and white and sepia (None when it is the identity)."""
    saturation = 0.0 if params["black_white"] or params["sepia"] else 1.0 + float(params["saturation"]) / 100.0
    if saturation == 1.0 and not params["sepia"]:
        return None
    luma = np.tile(_LUMA, (3, 1))
    matrix = luma + saturation * (np.eye(3, dtype=np.float32) - luma)
    if params["sepia"]:
        tint = np.asarray([1.07, 0.74, 0.43], dtype=np.float32)[:, None]  # grey -> warm brown
        matrix = tint * luma
    return matrix.astype(np.float32)


def _adjust(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    rgb = np.ascontiguousarray(image[:, :, :3])
    tables = adjustment_luts(params)
    identity = np.arange(256, dtype=np.uint8)
    if not all(np.array_equal(t, identity) for t in tables):
        lut = np.stack(tables, axis=1).reshape(256, 1, 3)
        rgb = np.asarray(cv2.LUT(rgb, lut), dtype=np.uint8)
    matrix = colour_matrix(params)
    if matrix is not None:
        rgb = np.asarray(cv2.transform(rgb, matrix), dtype=np.uint8)
    amount = float(params["sharpen"]) / 100.0
    if amount > 0:
        # Unsharp masking with a 3x3 Laplacian-of-box kernel: one filter pass, ~4x cheaper than blur + blend.
        k = 1.5 * amount
        kernel = np.full((3, 3), -k / 8.0, dtype=np.float32)
        kernel[1, 1] = 1.0 + k
        rgb = np.asarray(cv2.filter2D(rgb, -1, kernel, borderType=cv2.BORDER_REPLICATE), dtype=np.uint8)
    out = np.dstack([rgb, image[:, :, 3]]) if image.shape[2] == 4 else rgb
    return ToolResult(image=np.ascontiguousarray(out), format_hint=_format_hint(image), summary="Adjusted colours")


def _color_param(label: str = "Fill colour") -> Param:
    return Param(name="color", label=label, kind="color", default="#ffffff")


def _slider(name: str, label: str, lo: float = -100, hi: float = 100, step: float = 1) -> Param:
    return Param(name=name, label=label, kind="float", default=0.0, min=lo, max=hi, step=step)


TOOLS: list[Tool] = [
    Tool(
        name="crop",
        label="Crop",
        group="adjust",
        description="Keep a rectangle of the image.",
        run=_crop,
        preview_rule=_crop_preview,
        params=(
            Param(name="x", label="Left (px)", kind="int", default=0, min=0, max=100_000),
            Param(name="y", label="Top (px)", kind="int", default=0, min=0, max=100_000),
            Param(name="width", label="Width (px, 0 = to the edge)", kind="int", default=0, min=0, max=100_000),
            Param(name="height", label="Height (px, 0 = to the edge)", kind="int", default=0, min=0, max=100_000),
        ),
        costs_credit=False,
        icon="crop",
        seconds_per_mp=0.005,
    ),
    Tool(
        name="resize",
        label="Resize",
        group="adjust",
        description="Change the size: fit inside, fill and crop, or pad with a colour.",
        run=_resize,
        params=(
            Param(name="width", label="Width (px)", kind="int", default=0, min=0, max=20_000),
            Param(name="height", label="Height (px)", kind="int", default=0, min=0, max=20_000),
            Param(
                name="mode",
                label="Mode",
                kind="choice",
                default="fit",
                choices=("fit", "fill", "pad"),
                choice_labels=("Fit inside", "Fill and crop", "Pad with a colour"),
            ),
            _color_param("Padding colour"),
        ),
        costs_credit=False,
        icon="photo_size_select_large",
        seconds_per_mp=0.01,
    ),
    Tool(
        name="rotate",
        label="Rotate",
        group="adjust",
        description="Turn the image; other angles than quarter turns enlarge the canvas.",
        run=_rotate,
        params=(
            Param(
                name="angle", label="Angle (degrees, counter-clockwise)", kind="float", default=90.0, min=-360, max=360
            ),
            _color_param("Corner colour"),
            Param(name="transparent", label="Transparent corners", kind="bool", default=False),
        ),
        costs_credit=False,
        icon="rotate_90_degrees_ccw",
        seconds_per_mp=0.01,
    ),
    Tool(
        name="flip",
        label="Flip",
        group="adjust",
        description="Mirror the image.",
        run=_flip,
        params=(
            Param(
                name="direction",
                label="Direction",
                kind="choice",
                default="horizontal",
                choices=("horizontal", "vertical"),
                choice_labels=("Left-right", "Upside down"),
            ),
        ),
        costs_credit=False,
        icon="flip",
        seconds_per_mp=0.005,
    ),
    Tool(
        name="convert",
        label="Format and quality",
        group="adjust",
        description="Save as PNG, JPEG or WebP with a chosen quality.",
        run=_convert,
        params=(
            Param(name="format", label="Format", kind="choice", default="jpeg", choices=("png", "jpeg", "webp")),
            Param(name="quality", label="Quality", kind="int", default=90, min=1, max=100),
        ),
        costs_credit=False,
        icon="save_as",
        seconds_per_mp=0.01,
    ),
    Tool(
        name="adjust",
        label="Adjust",
        group="adjust",
        description="Exposure, brightness, contrast, saturation, warmth, sharpness, black and white, sepia.",
        run=_adjust,
        params=(
            _slider("exposure", "Exposure (EV)", -3, 3, 0.1),
            _slider("brightness", "Brightness"),
            _slider("contrast", "Contrast"),
            _slider("saturation", "Saturation"),
            _slider("warmth", "Warmth"),
            _slider("sharpen", "Sharpen", 0, 100),
            Param(name="black_white", label="Black and white", kind="bool", default=False),
            Param(name="sepia", label="Sepia", kind="bool", default=False),
        ),
        costs_credit=False,
        icon="tune",
        seconds_per_mp=0.02,
    ),
]
