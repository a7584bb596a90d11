"""Short names for versions: what an edit did, from its tool and parameters ("Blur 40", "4x quality").

`version_label` is pure (no database, no registry state beyond labels), so the history strip, the
page title and any list of versions name an edit the same way. `version_time` says when it was made,
in the viewer's time zone once `browser_zone` has turned what the browser reported into one.
`labels_for` reads the parameters of the jobs that made a set of versions (one query).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import JOB_SUCCEEDED, Job

MAX_LABEL = 28  # about what fits under a thumbnail and in a page title without crowding it
ORIGINAL = "Original"

Params = Mapping[str, Any]


def _number(params: Params, name: str) -> float:
    try:
        return float(params.get(name) or 0)
    except (TypeError, ValueError):
        return 0.0


def _fmt(value: float) -> str:
    return f"{value:g}"


def _quoted(text: str) -> str:
    text = " ".join(text.split()).replace('"', "'")  # labels also go into HTML attributes
    room = MAX_LABEL - 2
    return f"“{text if len(text) <= room else text[: room - 1].rstrip() + '…'}”"


def _size(params: Params) -> str:
    width, height = round(_number(params, "width")), round(_number(params, "height"))
    if width and height:
        return f"{width}×{height}"
    if width:
        return f"{width} wide"
    if height:
        return f"{height} high"
    return ""


def _joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _cutout(params: Params) -> str:
    if params.get("output") == "mask":
        return "Cut-out mask"
    return "Fine cut-out" if params.get("mode") == "pro" else "Cut-out"


def _background(params: Params) -> str:
    prompt = str(params.get("prompt") or "").strip()
    kind = str(params.get("background") or "color")
    if prompt and kind not in {"color", "gradient", "blur", "image"}:
        return _quoted(prompt)
    if kind == "blur":
        return f"Blur {_fmt(_number(params, 'blur') or 40)}"
    if kind == "gradient":
        return "Gradient background"
    if kind == "image":
        return "Photo background"
    return f"Colour {str(params.get('color') or '#ffffff').lower()}"


def _smart_crop(params: Params) -> str:
    focus = {"face": "Face crop", "headshot": "Headshot"}.get(str(params.get("focus") or ""), "Crop")
    return _joined(focus, _size(params) or str(params.get("ratio") or ""))


def _crop(params: Params) -> str:
    return _joined("Crop", _size(params))


def _resize(params: Params) -> str:
    return _joined("Resize", _size(params))


def _rotate(params: Params) -> str:
    return f"Rotate {_fmt(_number(params, 'angle'))}°"


def _flip(params: Params) -> str:
    return "Flip vertical" if params.get("direction") == "vertical" else "Flip horizontal"


def _convert(params: Params) -> str:
    fmt = str(params.get("format") or "jpeg")
    name = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP"}.get(fmt, fmt.upper())
    return name if fmt == "png" else f"{name} {_fmt(_number(params, 'quality') or 90)}"


_ADJUST_NAMES = {
    "exposure": "Exposure",
    "brightness": "Brightness",
    "contrast": "Contrast",
    "saturation": "Saturation",
    "warmth": "Warmth",
    "sharpen": "Sharpen",
}


def _adjust(params: Params) -> str:
    changes = [f"{label} {_number(params, name):+g}" for name, label in _ADJUST_NAMES.items() if _number(params, name)]
    changes += [label for name, label in (("black_white", "Black & white"), ("sepia", "Sepia")) if params.get(name)]
    if not changes:
        return "Adjust"
    return changes[0] if len(changes) == 1 else f"Adjust ({len(changes)} changes)"


def _upscale(params: Params) -> str:
    return f"{params.get('scale') or 2}x {params.get('model') or 'quality'}"


def _strength(name: str) -> Callable[[Params], str]:
    return lambda params: f"{name} {_fmt(_number(params, 'strength') or 50)}"


def _expand(params: Params) -> str:
    aspect = str(params.get("aspect") or "none")
    label = "Expand" + ("" if aspect == "none" else f" {aspect}")
    return label + (" (AI)" if params.get("mode") == "generative" else "")


def _prompt(params: Params) -> str:
    text = str(params.get("prompt") or "").strip()
    return _quoted(text) if text else "Described edit"


def _style(params: Params) -> str:
    text = str(params.get("prompt") or "").strip()
    if text:
        return _quoted(text)
    preset = str(params.get("preset") or "style").replace("-", " ").capitalize()
    strength = _number(params, "strength")
    return preset if not strength or strength == 100 else f"{preset} {_fmt(strength)}%"


_LABELS: dict[str, Callable[[Params], str]] = {
    "remove-bg": _cutout,
    "change-bg": _background,
    "smart-crop": _smart_crop,
    "crop": _crop,
    "resize": _resize,
    "rotate": _rotate,
    "flip": _flip,
    "convert": _convert,
    "adjust": _adjust,
    "upscale": _upscale,
    "retouch": _strength("Retouch"),
    "denoise": _strength("Denoise"),
    "erase": lambda _params: "Magic erase",
    "expand": _expand,
    "prompt": _prompt,
    "style": _style,
    "generate": lambda params: "Created " + _quoted(str(params.get("prompt") or "")),
}


def version_label(tool: str | None, params: Params | None = None) -> str:
    """What a version is, in a few words: "Blur 40", "4x quality", "Crop 16:9", "Original"."""
    if not tool:
        return ORIGINAL
    describe = _LABELS.get(tool)
    label = describe(params or {}) if describe is not None else tool.replace("-", " ").capitalize()
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def version_time(created_at: datetime, *, now: datetime | None = None, zone: tzinfo | None = None) -> str:
    """When a version was made: "14:32" today, "7 Dec 14:32" before, "7 Dec 2025" in another year, in
    `zone` (the viewer's); without one in UTC, and the times say so ("14:32 UTC")."""
    where = zone or UTC
    moment = (created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at).astimezone(where)
    today = (now or datetime.now(UTC)).astimezone(where)
    suffix = "" if zone is not None else " UTC"
    if moment.date() == today.date():
        return f"{moment:%H:%M}{suffix}"
    if moment.year == today.year:
        return f"{moment.day} {moment:%b %H:%M}{suffix}"
    return f"{moment.day} {moment:%b %Y}"


MAX_ZONE_NAME = 64
MAX_OFFSET_MIN = 18 * 60  # what datetime.timezone accepts, and more than any real zone


def browser_zone(name: object, offset_min: object = None) -> tzinfo | None:
    """The zone a browser reported: its IANA name (`Intl...resolvedOptions().timeZone`), else its
    current offset (`Date.getTimezoneOffset()`, minutes behind UTC) when the name is unknown here
    (a server without tz data); None when neither makes sense. Never trusts the text further."""
    if isinstance(name, str) and 0 < len(name) <= MAX_ZONE_NAME:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, or not a zone name ("../x", "America")
            pass
    if isinstance(offset_min, int | float) and not isinstance(offset_min, bool) and abs(offset_min) < MAX_OFFSET_MIN:
        minutes = round(offset_min)
        return UTC if minutes == 0 else timezone(timedelta(minutes=-minutes))
    return None


async def labels_for(session: AsyncSession, asset_ids: Iterable[str]) -> dict[str, str]:
    """The label of each version made by a job (asset id -> label); originals are not in it."""
    ids = list(asset_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Job.result_asset_id, Job.tool, Job.params).where(
            Job.result_asset_id.in_(ids), Job.status == JOB_SUCCEEDED
        )
    )
    return {asset_id: version_label(tool, params) for asset_id, tool, params in rows if asset_id}
