"""Smart crop to an aspect ratio or an exact size, framed on the subject or on the faces.

* subject: the cut-out mask of the photo (reused from the cache when the photo was just cut out),
  or a saliency map when the background-removal model is not installed;
* face: every detected face is kept, the eyes sit on the upper third line (rule of thirds); with
  no face found it falls back to the subject and says so in the result's note;
* headshot: as face, but zoomed in so the face fills ~42 % of the height (head, neck, a little
  shoulder).

A crop that would return the photo unchanged is refused (ToolError), so it costs no AI edit.

The crop box (x, y, w, h) in the original image is returned in ToolResult.box for previews.
"""

from __future__ import annotations

from math import gcd
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.models import faces, isnet
from pixora_ui.engine.ops import saliency
from pixora_ui.engine.tools.registry import (
    Cancelled,
    ImageArray,
    Param,
    ParamError,
    Progress,
    Tool,
    ToolError,
    ToolResult,
    check_cancelled,
)

Box = tuple[int, int, int, int]
RATIOS: tuple[str, ...] = ("1:1", "4:5", "3:4", "2:3", "9:16", "5:4", "4:3", "3:2", "16:9", "21:9")


def crop_size(width: int, height: int, rw: int, rh: int, *, exact: bool = True) -> tuple[int, int]:
    """The largest box of rw:rh that fits in width x height.

    Exact to the pixel (a whole multiple of the reduced ratio) unless `exact` is False and that
    would lose more than 10 % of the side, which only happens for ratios of large numbers such as
    an exact output size (the crop is resized to that size afterwards).
    """
    g = gcd(rw, rh)
    rw, rh = rw // g, rh // g
    n = min(width // rw, height // rh)
    if n >= 1 and (exact or n * rw >= 0.9 * min(width, height * rw / rh)):
        return n * rw, n * rh
    if width * rh > height * rw:
        return max(1, min(width, round(height * rw / rh))), height
    return width, max(1, min(height, round(width * rh / rw)))


def _clamp(start: float, size: int, limit: int) -> int:
    return int(min(max(0, round(start)), limit - size))


def _place(center: float, size: int, limit: int, keep: tuple[float, float] | None = None) -> int:
    """Start of a span of `size` around `center`, containing `keep` when it fits, inside 0..limit."""
    start = center - size / 2
    if keep is not None and keep[1] - keep[0] <= size:
        start = min(max(start, keep[1] - size), keep[0])
    return _clamp(start, size, limit)


def subject_map(image: ImageArray) -> tuple[npt.NDArray[np.float32], str]:
    """A 0..1 map of where the subject is, and which method found it."""
    cached = isnet.cached_subject_alpha(image)
    if cached is not None:
        return cached[0], "cut-out"
    if isnet.availability()[0]:
        return isnet.subject_alpha(image)[0], "cut-out"
    return saliency.saliency_map(image), "saliency"


def framing_weights(weights: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Where to centre when the whole subject does not fit: the mask, with parts that run off the
    left, right or top edge (towers, trees, furniture) counting a quarter and a mild centre prior."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    h, w = mask.shape
    out = np.where(mask, weights, 0).astype(np.float32)
    for label in range(1, count):
        x, y, bw, _bh = (int(v) for v in stats[label, :4])
        if x == 0 or y == 0 or x + bw >= w:
            out[labels == label] *= 0.25
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    prior = np.exp(-(((xx / w - 0.5) ** 2) + ((yy / h - 0.5) ** 2)) / (2 * 0.35**2))
    return np.asarray(out * prior, dtype=np.float32)


def subject_box(image: ImageArray, box_w: int, box_h: int) -> Box:
    height, width = image.shape[:2]
    weights, method = subject_map(image)
    mh, mw = weights.shape[:2]
    sx, sy = width / mw, height / mh
    level = 0.5 if method == "cut-out" else 0.35
    mask = weights > level
    if not mask.any():
        return _clamp((width - box_w) / 2, box_w, width), _clamp((height - box_h) / 2, box_h, height), box_w, box_h
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    keep_x = (cols[0] * sx, (cols[-1] + 1) * sx)
    keep_y = (rows[0] * sy, (rows[-1] + 1) * sy)
    moments = cv2.moments(framing_weights(weights, mask))
    cx = (moments["m10"] / moments["m00"] + 0.5) * sx if moments["m00"] > 0 else width / 2
    cy = (moments["m01"] / moments["m00"] + 0.5) * sy if moments["m00"] > 0 else height / 2
    # When the whole subject fits, frame its box; otherwise centre on its mass (e.g. a face).
    x = _place((keep_x[0] + keep_x[1]) / 2 if keep_x[1] - keep_x[0] <= box_w else cx, box_w, width, keep_x)
    y = _place((keep_y[0] + keep_y[1]) / 2 if keep_y[1] - keep_y[0] <= box_h else cy, box_h, height, keep_y)
    return x, y, box_w, box_h


def face_box(image: ImageArray, found: list[faces.Face], box_w: int, box_h: int) -> Box:
    height, width = image.shape[:2]
    # Each face with room for hair and chin, so that a kept face is a whole head.
    x0 = min(f.x - 0.25 * f.w for f in found)
    x1 = max(f.x + 1.25 * f.w for f in found)
    y0 = min(f.y - 0.35 * f.h for f in found)
    y1 = max(f.y + 1.2 * f.h for f in found)
    eyes = sum(f.eyes_y * f.score for f in found) / sum(f.score for f in found)
    x = _place((x0 + x1) / 2, box_w, width, (max(0.0, x0), min(float(width), x1)))
    # Rule of thirds: the eyes on the upper third line, unless that would cut a head off.
    y = _place(eyes - box_h / 3 + box_h / 2, box_h, height, (max(0.0, y0), min(float(height), y1)))
    return x, y, box_w, box_h


HEADSHOT_FACE_SHARE = 0.42  # the face box's height as a share of a headshot's height


def headshot_size(found: list[faces.Face], width: int, height: int, rw: int, rh: int) -> tuple[int, int]:
    """A headshot's crop size: the faces' box fills ~42 % of the height (the whole head with hair,
    neck and a little shoulder: the portrait photographer's tight head-and-shoulders), at rw:rh,
    never larger than the photo allows and never narrower than the faces with their margins."""
    face_h = max(f.h for f in found)
    span_w = max(f.x + 1.25 * f.w for f in found) - min(f.x - 0.25 * f.w for f in found)
    span_h = max(f.y + 1.2 * f.h for f in found) - min(f.y - 0.35 * f.h for f in found)
    box_h = max(face_h / HEADSHOT_FACE_SHARE, span_h * 1.25, span_w * 1.1 * rh / rw)
    max_w, max_h = crop_size(width, height, rw, rh)
    g = gcd(rw, rh)
    rw, rh = rw // g, rh // g
    n = max(1, round(box_h / rh))  # a whole multiple of the reduced ratio: exact to the pixel
    if n * rh >= max_h or n * rw >= max_w:
        return max_w, max_h
    return n * rw, n * rh


def _target(params: dict[str, Any], width: int, height: int) -> tuple[int, int, tuple[int, int] | None]:
    out_w, out_h = int(params["width"]), int(params["height"])
    if (out_w > 0) != (out_h > 0):
        raise ParamError("Give both a width and a height for an exact size, or neither")
    if out_w > 0:
        box_w, box_h = crop_size(width, height, out_w, out_h, exact=False)
        return box_w, box_h, (out_w, out_h)
    rw, rh = (int(v) for v in str(params["ratio"]).split(":"))
    box_w, box_h = crop_size(width, height, rw, rh)
    return box_w, box_h, None


def _run(image: ImageArray, params: dict[str, Any], progress: Progress, cancelled: Cancelled) -> ToolResult:
    height, width = image.shape[:2]
    box_w, box_h, size = _target(params, width, height)
    note = ""
    box: Box | None = None
    if params["focus"] in ("face", "headshot"):
        progress(0.1, "Looking for faces")
        if faces.availability()[0]:
            found = faces.detect_faces(image)
            if found:
                if params["focus"] == "headshot":  # zoom to the head at the ratio (or the exact size's)
                    rw, rh = size or tuple(int(v) for v in str(params["ratio"]).split(":"))
                    box_w, box_h = headshot_size(found, width, height, rw, rh)
                box = face_box(image, found, box_w, box_h)
            else:
                note = "No face was found, so the crop follows the main subject instead."
        else:
            note = "The face detector is not installed, so the crop follows the main subject instead."
    check_cancelled(cancelled)
    if box is None:
        progress(0.3, "Finding the subject")
        box = subject_box(image, box_w, box_h)
    check_cancelled(cancelled)
    x, y, w, h = box
    if (x, y, w, h) == (0, 0, width, height) and (size is None or size == (width, height)):
        # Refused rather than returned: an identical result must not cost an AI edit (a failed job
        # is refunded by the runner).
        raise ToolError(
            "This crop would not change the photo: it already has this aspect ratio. "
            "Choose another ratio or a headshot."
        )
    result = np.ascontiguousarray(image[y : y + h, x : x + w])
    if size is not None and (w, h) != size:
        shrinking = size[0] * size[1] < w * h
        result = np.asarray(
            cv2.resize(result, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC), dtype=np.uint8
        )
    return ToolResult(
        image=result,
        box=box,
        note=note,
        format_hint="png" if image.shape[2] == 4 else "jpeg",
        summary=f"Smart crop on the {params['focus']} to " + (f"{size[0]}x{size[1]}" if size else str(params["ratio"])),
    )


def _preload(params: dict[str, Any]) -> None:
    """The model this focus uses, when installed (without it smart crop falls back to saliency)."""
    engine = faces if params.get("focus") == "face" else isnet
    if engine.availability()[0]:
        engine.load()


SMART_CROP = Tool(
    name="smart-crop",
    label="Smart crop",
    group="adjust",
    description="Crop to a ratio or an exact size, framed on the subject or on the faces.",
    run=_run,
    params=(
        Param(
            name="focus",
            label="Focus on",
            kind="choice",
            default="subject",
            choices=("subject", "face", "headshot"),
            choice_labels=("Main subject", "Faces", "Headshot"),
            help="Headshot zooms in to the face, with room for hair and shoulders.",
        ),
        Param(name="ratio", label="Aspect ratio", kind="choice", default="1:1", choices=RATIOS),
        Param(
            name="width",
            label="Exact width (px)",
            kind="int",
            default=0,
            min=0,
            max=20000,
            help="With a height, the result has exactly this size (the ratio is ignored).",
        ),
        Param(name="height", label="Exact height (px)", kind="int", default=0, min=0, max=20000),
    ),
    costs_credit=True,
    icon="crop",
    seconds_per_mp=0.03,
    preload=_preload,
)

TOOLS: list[Tool] = [SMART_CROP]
