"""Remove background: ISNet at 1024 px, edges rebuilt at full resolution (standard or pro)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from pixora_ui.engine.models import isnet
from pixora_ui.engine.ops import matting
from pixora_ui.engine.tools.registry import Cancelled, ImageArray, Param, Progress, Tool, ToolResult, check_cancelled

Alpha = npt.NDArray[np.uint8]

MODE_PARAM = Param(
    name="mode",
    label="Quality",
    kind="choice",
    default="standard",
    choices=("standard", "pro"),
    # "pro" stays the API value; the label avoids suggesting a Pro-plan feature (every plan has it).
    choice_labels=("Standard", "Fine (hair and soft edges)"),
    help="Fine refines hair and soft edges with alpha matting; it takes about twice as long.",
)


def cut_out(image: ImageArray, mode: str, progress: Progress, cancelled: Cancelled) -> ImageArray:
    """The subject as RGBA: full-resolution alpha and edge colours cleaned of the old background."""
    progress(0.05, "Finding the subject")
    alpha_small, small = isnet.subject_alpha(image)
    check_cancelled(cancelled)
    progress(0.55, "Refining hair and soft edges" if mode == "pro" else "Refining edges")
    refine = matting.pro_alpha if mode == "pro" else matting.standard_alpha
    matte = refine(image, small, alpha_small)
    if image.shape[2] == 4:
        matte = matting.Matte(np.minimum(matte.alpha, image[:, :, 3]), matte.ys, matte.xs)
    check_cancelled(cancelled)
    progress(0.8, "Cleaning edge colours")
    return matting.cutout_rgba(image, matte, work_side=1000 if mode == "pro" else 500)


def subject_box(alpha: Alpha, *, threshold: int = 16) -> tuple[int, int, int, int] | None:
    """The bounding box (x, y, w, h) of the visible subject, or None when nothing is left."""
    visible = alpha > threshold
    rows = np.flatnonzero(visible.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(visible.any(axis=0))
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    x0, x1 = int(cols[0]), int(cols[-1]) + 1
    return x0, y0, x1 - x0, y1 - y0


def _with_margin(
    box: tuple[int, int, int, int], margin_pct: float, width: int, height: int
) -> tuple[int, int, int, int]:
    x, y, w, h = box
    pad = round(max(w, h) * margin_pct / 100.0)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(width, x + w + pad), min(height, y + h + pad)
    return x0, y0, x1 - x0, y1 - y0


def _run(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    rgba = cut_out(image, str(params["mode"]), progress, cancelled)
    alpha = rgba[:, :, 3]
    check_cancelled(cancelled)
    progress(0.92, "Preparing the result")
    box: tuple[int, int, int, int] | None = None
    note = ""
    if params["crop"]:
        found = subject_box(alpha)
        if found is None:
            note = "No subject was found, so the image was not cropped."
        else:
            box = _with_margin(found, float(params["margin"]), image.shape[1], image.shape[0])
    result = np.repeat(alpha[:, :, None], 3, axis=2) if params["output"] == "mask" else rgba
    if box is not None:
        x, y, w, h = box
        result = result[y : y + h, x : x + w]
    if not bool(np.any(alpha > 16)):
        note = note or "No subject was found in this photo; the result is empty."
    return ToolResult(
        image=np.ascontiguousarray(result),
        box=box,
        note=note,
        format_hint="png",
        summary=f"Removed the background ({params['mode']})",
    )


REMOVE_BG = Tool(
    name="remove-bg",
    label="Remove background",
    group="cutout",
    description="Cut out the subject with clean edges: a transparent PNG or a mask.",
    run=_run,
    params=(
        MODE_PARAM,
        Param(
            name="output",
            label="Output",
            kind="choice",
            default="transparent",
            choices=("transparent", "mask"),
            choice_labels=("Transparent PNG", "Mask only"),
        ),
        Param(name="crop", label="Crop to the subject", kind="bool", default=False),
        Param(
            name="margin",
            label="Margin around the subject (%)",
            kind="int",
            default=5,
            min=0,
            max=50,
            step=1,
            help="Used with crop to the subject: space around it, as a share of its size.",
        ),
    ),
    costs_credit=True,
    icon="content_cut",
    availability=isnet.availability,
    preload=isnet.preload,
    seconds_per_mp=0.2,
)

TOOLS: list[Tool] = [REMOVE_BG]
