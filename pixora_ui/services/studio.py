"""A thin facade for the studio page: plain data in, plain data out, no NiceGUI.

The page never sees ORM objects or sessions. It asks this module for the user's library, the
versions of a photo, tool cards built from the registry, mask rasterisation and download URLs;
writes (uploads, edits, deletes) go through the assets and jobs services.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from PIL import Image, ImageDraw

from db.session import session_scope
from pixora_ui.engine import tools as engine_tools
from pixora_ui.engine.registry import GROUP_LABELS, Param, Tool
from pixora_ui.services import assets, media
from pixora_ui.services.assets import AssetView
from pixora_ui.services.plans import Usage
from pixora_ui.settings import get_settings

DownloadFormat = Literal["png", "jpeg", "webp"]
DOWNLOAD_FORMATS: tuple[DownloadFormat, ...] = ("png", "jpeg", "webp")
_EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}
CANVAS_URL_TTL_S = 3600  # and bound to the owner's session: useless after sign-out


class StudioError(Exception):
    """Something the studio cannot do; the message is safe to show."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PhotoCard:
    """One photo of the library (an original upload)."""

    id: str
    name: str
    created_at: datetime
    width: int
    height: int
    preview_url: str
    versions: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class VersionCard:
    """One version of a photo: the original or the result of an edit."""

    id: str
    root_id: str
    parent_id: str | None
    name: str
    tool: str | None
    label: str
    created_at: datetime
    width: int
    height: int
    mime: str
    preview_url: str
    full_url: str
    public: bool = False  # anyone with its link (/ik/…) may view it

    @property
    def is_original(self) -> bool:
        return self.parent_id is None

    @property
    def may_have_alpha(self) -> bool:
        return self.mime in {"image/png", "image/webp"}


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCard:
    """A tool as the palette shows it."""

    name: str
    label: str
    group: str
    group_label: str
    description: str
    icon: str
    costs_credit: bool
    available: bool
    reason: str
    params: tuple[Param, ...]
    providers: tuple[tuple[str, str], ...]  # (name, label) of available providers, preferred first

    @property
    def cost_label(self) -> str:
        return "1 AI edit" if self.costs_credit else "Free"

    @property
    def provider_label(self) -> str:
        return self.providers[0][1] if self.providers else ""


@dataclass(frozen=True, kw_only=True, slots=True)
class JobState:
    """What the job panel shows about one edit."""

    id: str
    tool_label: str
    status: str  # submitting | queued | running | succeeded | failed | cancelled
    progress: float = 0.0
    message: str = ""
    eta_s: float | None = None
    queue_position: int | None = None
    error: str = ""
    credit_state: str = "none"
    result_asset_id: str | None = None
    note: str = ""
    result: VersionCard | None = None  # on success: the new version, for the page to add as it is

    @property
    def finished(self) -> bool:
        return self.status in {"succeeded", "failed", "cancelled"}


# ---------------------------------------------------------------- tools


def _provider_state(tool: Tool) -> tuple[bool, str, tuple[tuple[str, str], ...]]:
    """Availability from the tool and from the configured providers that can run it."""
    available, reason = tool.availability()
    from pixora_ui.providers.router import choices_for

    choices = choices_for(tool.name)
    usable = tuple((c.name, c.label) for c in choices if c.available)
    if usable:
        return True, "", usable
    if choices:
        return False, next((c.reason for c in choices if c.reason), reason or "not available here"), ()
    return available, reason, ()


def _has_generative_provider(tool: str) -> bool:
    from pixora_ui.providers.router import choices_for

    return any(c.available and c.name != "local" for c in choices_for(tool, {"mode": "generative"}))


def palette_params(tool: Tool) -> tuple[Param, ...]:
    """The tool's parameters as the palette offers them: a "generative" choice only where a
    generative provider is configured for the tool (the local engine would only refuse it)."""
    params = []
    for param in tool.params:
        if param.kind == "choice" and "generative" in param.choices and not _has_generative_provider(tool.name):
            kept = [i for i, c in enumerate(param.choices) if c != "generative"]
            labels = tuple(param.choice_labels[i] for i in kept) if param.choice_labels else ()
            param = replace(param, choices=tuple(param.choices[i] for i in kept), choice_labels=labels)
        params.append(param)
    return tuple(params)


def tool_cards() -> list[ToolCard]:
    """Every registered tool with its availability, grouped in the palette's order."""
    cards: list[ToolCard] = []
    for group, tools in engine_tools.get_registry().by_group().items():
        for tool in tools:
            if not tool.takes_photo:
                continue  # text-to-image has its own Create dialog
            available, reason, providers = _provider_state(tool)
            cards.append(
                ToolCard(
                    name=tool.name,
                    label=tool.label,
                    group=group,
                    group_label=GROUP_LABELS.get(group, group.title()),
                    description=tool.description,
                    icon=tool.icon,
                    costs_credit=tool.costs_credit,
                    available=available,
                    reason=reason,
                    params=palette_params(tool),
                    providers=providers,
                )
            )
    return cards


def tool_label(name: str | None) -> str:
    if not name:
        return "Original"
    registry = engine_tools.get_registry()
    return registry.get(name).label if name in registry else name.replace("-", " ").capitalize()


def costs_credit(name: str) -> bool:
    registry = engine_tools.get_registry()
    return name in registry and registry.get(name).costs_credit


# ---------------------------------------------------------------- library and versions


def _preview(asset_id: str) -> str:
    return media.signed_url(asset_id, variant="preview", expires_in=CANVAS_URL_TTL_S, bound=True)


def _full(asset_id: str) -> str:
    return media.signed_url(asset_id, variant="full", expires_in=CANVAS_URL_TTL_S, bound=True)


def _version_card(view: AssetView) -> VersionCard:
    return VersionCard(
        id=view.id,
        root_id=view.root_id,
        parent_id=None if view.is_original else view.parent_id,
        name=view.name,
        tool=view.tool,
        label=tool_label(view.tool),
        created_at=view.created_at,
        width=view.width,
        height=view.height,
        mime=view.mime,
        preview_url=_preview(view.id),
        full_url=_full(view.id),
        public=view.public,
    )


async def library_for(user_id: int, *, limit: int = 200) -> list[PhotoCard]:
    """The user's original photos, newest first (the preview shows the newest version)."""
    async with session_scope() as session:
        items = await assets.list_library(session, owner_id=user_id, limit=limit)
    return [
        PhotoCard(
            id=item.original.id,
            name=item.original.name,
            created_at=item.original.created_at,
            width=item.original.width,
            height=item.original.height,
            preview_url=_preview(item.latest.id),
            versions=item.versions,
        )
        for item in items
    ]


async def versions_of(user_id: int, root_id: str) -> list[VersionCard]:
    """The original and every edit made from it, original first. Empty when not the user's photo."""
    async with session_scope() as session:
        views = await assets.list_versions(session, owner_id=user_id, root_id=root_id)
    return [_version_card(v) for v in views]


async def upload_photo(user_id: int, *, data: bytes, filename: str) -> PhotoCard:
    """Store an upload as a new original; raises StudioError with the reason when it is refused."""
    from pixora_ui.engine.imageio import ImageInputError

    try:
        async with session_scope() as session:
            view = await assets.upload(session, owner_id=user_id, data=data, filename=filename)
    except (ImageInputError, assets.AssetError) as exc:
        raise StudioError(str(exc)) from exc
    return PhotoCard(
        id=view.id,
        name=view.name,
        created_at=view.created_at,
        width=view.width,
        height=view.height,
        preview_url=_preview(view.id),
        versions=0,
    )


async def rename_photo(user_id: int, asset_id: str, name: str) -> str:
    try:
        async with session_scope() as session:
            view = await assets.rename_asset(session, owner_id=user_id, asset_id=asset_id, name=name)
    except assets.AssetError as exc:
        raise StudioError(str(exc)) from exc
    return view.name


def share_link(version_id: str, name: str) -> str:
    """The version's public link (works while it is shared): `<BASE_URL>/ik/<id>/<name>`."""
    from pixora_ui.transform import signing

    stem = _slug(name.rsplit(".", 1)[0] if "." in name else name)
    return get_settings().base_url + signing.public_path(version_id, name=f"{stem}.jpg")


async def set_shared(user_id: int, version_id: str, shared: bool) -> bool:
    """Let anyone with the link view this version (or stop that); returns the new state."""
    try:
        async with session_scope() as session:
            view = await assets.set_public(session, owner_id=user_id, asset_id=version_id, public=shared)
    except assets.AssetError as exc:
        raise StudioError(str(exc)) from exc
    return view.public


async def delete_photo(user_id: int, asset_id: str) -> list[str]:
    """Soft-delete a photo or a version; returns the ids to pass to `restore`."""
    try:
        async with session_scope() as session:
            return await assets.delete_asset(session, owner_id=user_id, asset_id=asset_id)
    except assets.AssetError as exc:
        raise StudioError(str(exc)) from exc


async def restore(user_id: int, asset_ids: Sequence[str]) -> int:
    async with session_scope() as session:
        return await assets.undo_delete(session, owner_id=user_id, asset_ids=asset_ids)


def lineage(versions: Sequence[VersionCard], version_id: str) -> list[VersionCard]:
    """The chain from the original to `version_id` (original first)."""
    by_id = {v.id: v for v in versions}
    chain: list[VersionCard] = []
    current = by_id.get(version_id)
    while current is not None and current not in chain:
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return list(reversed(chain))


# ---------------------------------------------------------------- downloads


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60] or "photo"


def download_name(versions: Sequence[VersionCard], version_id: str, fmt: DownloadFormat) -> str:
    """A file name that says what was done: "photo-remove-bg-upscale.png"."""
    chain = lineage(versions, version_id)
    if not chain:
        raise StudioError("That version no longer exists")
    stem = _slug(chain[0].name.rsplit(".", 1)[0] if "." in chain[0].name else chain[0].name)
    tools = [v.tool for v in chain[1:] if v.tool]
    return "-".join([stem, *tools]) + "." + _EXT[fmt]


def download_url(
    versions: Sequence[VersionCard], version_id: str, *, fmt: DownloadFormat = "png", quality: int = 90
) -> str:
    """A signed URL that serves the version converted to `fmt` as an attachment."""
    if fmt not in DOWNLOAD_FORMATS:
        raise StudioError("Choose PNG, JPEG or WebP")
    quality = max(1, min(100, int(quality)))
    return media.signed_url(
        version_id,
        variant="full",
        expires_in=600,
        download_name=download_name(versions, version_id, fmt),
        fmt=fmt,
        quality=None if fmt == "png" else quality,
        bound=True,
    )


# ---------------------------------------------------------------- masks


@dataclass(frozen=True, kw_only=True, slots=True)
class Stroke:
    points: tuple[tuple[float, float], ...]
    size: float
    erase: bool = False

    @classmethod
    def from_raw(cls, raw: dict[str, Any], *, width: int, height: int) -> Stroke:
        """Validate a stroke from the browser: bounded number of points, clamped to the image."""
        raw_points = raw.get("points") or []
        if not isinstance(raw_points, list) or not raw_points:
            raise StudioError("Empty brush stroke")
        points: list[tuple[float, float]] = []
        for item in raw_points[:5000]:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise StudioError("Malformed brush stroke")
            x, y = _finite(item[0]), _finite(item[1])
            points.append((min(max(x, -width), 2 * width), min(max(y, -height), 2 * height)))
        size = min(max(_finite(raw.get("size") or 1), 1.0), float(max(width, height)))
        return cls(points=tuple(points), size=size, erase=bool(raw.get("erase")))


def _finite(value: Any) -> float:
    """A coordinate or size from the browser as a finite float; anything else is a StudioError."""
    if isinstance(value, bool):
        raise StudioError("Malformed brush stroke")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise StudioError("Malformed brush stroke") from None
    if not math.isfinite(number):
        raise StudioError("Malformed brush stroke")
    return number


def rasterise_mask(strokes: Sequence[Stroke], *, width: int, height: int) -> Image.Image:
    """An L-mode mask (255 = erase here) the size of the image, painted from the strokes in order."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for stroke in strokes:
        fill = 0 if stroke.erase else 255
        radius = stroke.size / 2
        pts = list(stroke.points)
        if len(pts) > 1:
            draw.line(pts, fill=fill, width=max(1, round(stroke.size)), joint="curve")
        for x, y in (pts[0], pts[-1]) if len(pts) > 1 else pts:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
        # Round joints between segments so fast strokes leave no gaps.
        for x, y in pts[1:-1]:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
    return mask


def mask_png(strokes: Sequence[Stroke], *, width: int, height: int) -> bytes:
    if not any(not s.erase for s in strokes):
        raise StudioError("Paint over what you want to erase first")
    mask = rasterise_mask(strokes, width=width, height=height)
    if mask.getbbox() is None:
        raise StudioError("The mask is empty: paint over what you want to erase")
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


async def create_mask(user_id: int, *, for_asset_id: str, strokes: Sequence[Stroke], width: int, height: int) -> str:
    """Rasterise the strokes into a mask asset for the photo; returns its id for the tool's `mask` parameter."""
    import asyncio

    png = await asyncio.to_thread(mask_png, strokes, width=width, height=height)
    try:
        async with session_scope() as session:
            view = await assets.create_mask_asset(session, owner_id=user_id, for_asset_id=for_asset_id, data=png)
    except assets.AssetError as exc:
        raise StudioError(str(exc)) from exc
    return view.id


# ---------------------------------------------------------------- prompt


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptPreview:
    """What the prompt box says before running: the plan of local steps, or the provider that will do it."""

    text: str
    runnable: bool
    local: bool


PROMPT_TOOL = "prompt"


def preview_prompt(text: str) -> PromptPreview:
    """Plan a plain-language edit (pure Python, a few milliseconds) and say who will run it."""
    from pixora_ui.engine.interpret import interpret

    plan = interpret(text)
    if plan.create:
        from pixora_ui.services.create import generate_provider

        creator = generate_provider()
        if creator is not None:
            return PromptPreview(
                text=f"{creator[1]} will create a new picture of {plan.create}.", runnable=True, local=False
            )
        return PromptPreview(
            text="Creating new pictures needs Gemini or ImageKit on this server.", runnable=False, local=False
        )
    if not plan.needs_generative and plan.steps:
        return PromptPreview(text="Plan: " + " → ".join(s.label for s in plan.steps), runnable=True, local=True)
    generative: list[tuple[str, str]] = []
    reasons: list[str] = []
    from pixora_ui.providers.router import choices_for

    for choice in choices_for(PROMPT_TOOL):
        if choice.name == "local":
            continue
        if choice.available:
            generative.append((choice.name, choice.label))
        elif choice.reason:
            reasons.append(choice.reason)
    if generative:
        return PromptPreview(text=f"{generative[0][1]} will make this edit.", runnable=True, local=False)
    hint = reasons[0] if reasons else "needs a Gemini key or ImageKit"
    return PromptPreview(text=f"{plan.reason} ({hint})", runnable=False, local=False)


# ---------------------------------------------------------------- edits


class LimitReachedError(StudioError):
    """The user has no AI edits left: the page opens the upgrade dialog."""


class EmailNotVerifiedError(StudioError):
    """A Free account that has not confirmed its address: the page says how to get the free edits."""


def job_state(view: Any) -> JobState:
    """A jobs.JobView as the job panel shows it."""
    return JobState(
        id=view.id,
        tool_label=view.tool_label,
        status=view.status,
        progress=float(view.progress or 0.0),
        message=view.message or "",
        eta_s=view.eta_seconds,
        queue_position=view.queue_position,
        error=view.error or "",
        credit_state=view.credit_state,
        result_asset_id=view.result_asset_id,
        result=_result_card(getattr(view, "result", None)),
    )


def _result_card(fields: dict[str, Any] | None) -> VersionCard | None:
    """The new version a finished job's event carries (`job_views.result_fields`), with media URLs."""
    if not fields:
        return None
    return VersionCard(
        id=fields["id"],
        root_id=fields["root_id"],
        parent_id=fields["parent_id"],
        name=fields["name"],
        tool=fields["tool"],
        label=tool_label(fields["tool"]),
        created_at=datetime.fromisoformat(fields["created_at"]),
        width=int(fields["width"]),
        height=int(fields["height"]),
        mime=fields["mime"],
        preview_url=_preview(fields["id"]),
        full_url=_full(fields["id"]),
        public=bool(fields["public"]),
    )


async def submit_edit(
    user_id: int,
    *,
    asset_id: str,
    tool: str,
    params: dict[str, Any],
    provider: str | None = None,
    idempotency_key: str | None = None,
) -> JobState:
    """Queue an edit; LimitReachedError at the credit limit, StudioError with the reason otherwise."""
    from pixora_ui.engine.registry import ToolError
    from pixora_ui.services import jobs
    from pixora_ui.services.usage import EmailNotVerified, LimitReached

    try:
        async with session_scope() as session:
            view = await jobs.submit(
                session,
                user_id=user_id,
                asset_id=asset_id,
                tool=tool,
                params=params,
                provider=provider,
                idempotency_key=idempotency_key,
            )
    except EmailNotVerified as exc:
        raise EmailNotVerifiedError(str(exc)) from exc
    except LimitReached as exc:
        raise LimitReachedError(str(exc)) from exc
    except (ToolError, jobs.JobError, assets.AssetError) as exc:
        raise StudioError(str(exc)) from exc
    return job_state(view)


async def cancel_edit(user_id: int, job_id: str) -> JobState:
    from pixora_ui.services import jobs

    try:
        async with session_scope() as session:
            view = await jobs.cancel(session, user_id=user_id, job_id=job_id)
    except jobs.JobError as exc:
        raise StudioError(str(exc)) from exc
    return job_state(view)


def watch_jobs(user_id: int, callback: Callable[[JobState], Awaitable[None] | None]) -> Callable[[], None]:
    """Call `callback` for every change of the user's jobs; returns the unsubscribe function."""
    from pixora_ui.services import jobs

    def relay(view: Any) -> Awaitable[None] | None:
        return callback(job_state(view))

    return jobs.subscribe(user_id, relay)


async def usage_of(user_id: int) -> Usage:
    from pixora_ui.services.usage import get_usage

    async with session_scope() as session:
        return await get_usage(session, user_id=user_id)


# ---------------------------------------------------------------- crop and expand previews


def _number(params: dict[str, Any], *names: str) -> float:
    for name in names:
        value = params.get(name)
        if value not in (None, ""):
            try:
                return float(value)
            except (TypeError, ValueError):
                return 0.0
    return 0.0


def preview_box(tool: str, params: dict[str, Any], *, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h in image pixels) a crop keeps, or the new canvas an expand makes; None if unknown."""
    if tool == "expand":
        from pixora_ui.engine.expand import ExpandError, margins_for

        try:
            top, right, bottom, left = margins_for(
                height,
                width,
                aspect=str(params.get("aspect") or "none"),
                top=_number(params, "top"),
                right=_number(params, "right"),
                bottom=_number(params, "bottom"),
                left=_number(params, "left"),
            )
        except ExpandError:
            return None
        if not any((top, right, bottom, left)):
            return None
        return (-left, -top, width + left + right, height + top + bottom)
    if tool == "crop":
        x = max(0, min(round(_number(params, "x")), width - 1))
        y = max(0, min(round(_number(params, "y")), height - 1))
        w, h = round(_number(params, "width")), round(_number(params, "height"))
        # 0 means "to the edge", like the tool itself.
        w = width - x if w <= 0 else min(w, width - x)
        h = height - y if h <= 0 else min(h, height - y)
        if (x, y, w, h) == (0, 0, width, height):
            return None
        return (x, y, w, h)
    return None


SMART_CROP_TOOL = "smart-crop"


async def smart_crop_preview(
    user_id: int, *, asset_id: str, params: dict[str, Any], width: int, height: int
) -> tuple[int, int, int, int] | None:
    """Where smart crop would cut (x, y, w, h at full size), found on the small preview.

    Free and quick (the preview is at most 512 px); None when the tool is off or the parameters are not valid yet.
    Runs on the low-priority background executor, never on the engine executor, so previews cannot take
    inference slots from paid jobs.
    """
    import asyncio

    from pixora_ui.engine import imageio
    from pixora_ui.engine.registry import ToolError, never_cancelled, no_progress
    from pixora_ui.providers.local import in_background

    registry = engine_tools.get_registry()
    if SMART_CROP_TOOL not in registry:
        return None
    tool = registry.get(SMART_CROP_TOOL)
    if not tool.availability()[0]:
        return None
    try:
        clean = tool.validate(params)
        async with session_scope() as session:
            view = await assets.get_asset(session, owner_id=user_id, asset_id=asset_id)
        data = await assets.read_bytes(view, variant="preview")
        pixels = (await asyncio.to_thread(imageio.decode, data, max_bytes=1 << 26, max_pixels=1 << 24)).pixels
        scale = width / pixels.shape[1]
        for key in ("width", "height"):
            if isinstance(clean.get(key), int | float) and clean[key] > 0:
                clean[key] = max(1, round(clean[key] / scale))
        result = await in_background(tool.run, pixels, clean, no_progress, never_cancelled)
    except (ToolError, imageio.ImageInputError, assets.AssetError):
        return None
    if result.box is None:
        return None
    x, y, w, h = result.box
    sx, sy = round(x * scale), round(y * scale)
    return (sx, sy, min(width - sx, round(w * scale)), min(height - sy, round(h * scale)))
