"""A thin facade for the studio page: plain data in, plain data out, no NiceGUI.

The page never sees ORM objects or sessions. It asks this module for the user's library, the
versions of a photo, tool cards built from the registry, erase masks and download URLs; writes
(uploads, edits, deletes) go through the assets and jobs services. Jobs come back as
`job_views.JobView`; the boxes drawn over a photo come from `previews`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from db.session import session_scope
from pixora_ui.engine.ops.masks import Stroke, mask_png
from pixora_ui.engine.tools import catalog as engine_tools
from pixora_ui.engine.tools.registry import GROUP_LABELS, Param, Tool
from pixora_ui.errors import EmailNotVerified, LimitReached, PixoraError
from pixora_ui.providers.router import choices_for, configured_providers
from pixora_ui.services import assets, jobs, media
from pixora_ui.services.assets import AssetView
from pixora_ui.services.job_views import JobView
from pixora_ui.services.plans import Usage
from pixora_ui.services.usage import get_usage
from pixora_ui.services.version_labels import labels_for, version_label
from pixora_ui.settings import get_settings
from pixora_ui.transform import signing

DownloadFormat = Literal["png", "jpeg", "webp"]
DOWNLOAD_FORMATS: tuple[DownloadFormat, ...] = ("png", "jpeg", "webp")
_EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}
CANVAS_URL_TTL_S = 3600  # and bound to the owner's session: useless after sign-out


# Something the studio cannot do; the message is safe to show. The services' own errors (assets,
# jobs, tools, the credit limit) all share this root, so they reach the page unwrapped and the page
# translates them once (pixora_ui.errors.page_notice).
StudioError = PixoraError


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


# ---------------------------------------------------------------- tools


def _provider_state(tool: Tool) -> tuple[bool, str, tuple[tuple[str, str], ...]]:
    """Availability from the tool and from the configured providers that can run it."""
    available, reason = tool.availability()

    choices = choices_for(tool.name)
    usable = tuple((c.name, c.label) for c in choices if c.available)
    if usable:
        return True, "", usable
    if choices:
        return False, next((c.reason for c in choices if c.reason), reason or "not available here"), ()
    return available, reason, ()


def providers_for(tool: str, params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(name, label) of the available providers that can run `tool` with these settings, preferred first."""
    providers = configured_providers()
    return tuple(
        (c.name, c.label)
        for c in choices_for(tool, params)
        if c.available and c.name in providers and providers[c.name].accepts(tool, params)
    )


def _has_generative_provider(tool: str) -> bool:
    return any(c.available and c.name != "local" for c in choices_for(tool))


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


def painted_mask(name: str | None) -> str | None:
    """The parameter of tool `name` that takes a mask the user paints over the photo (magic erase's);
    None for a tool without a brush."""
    registry = engine_tools.get_registry()
    return registry.get(name).painted_mask if name and name in registry else None


# ---------------------------------------------------------------- library and versions


def _preview(asset_id: str) -> str:
    return media.signed_url(asset_id, variant="preview", expires_in=CANVAS_URL_TTL_S, bound=True)


def _full(asset_id: str) -> str:
    return media.signed_url(asset_id, variant="full", expires_in=CANVAS_URL_TTL_S, bound=True)


def _version_card(view: AssetView, label: str | None = None) -> VersionCard:
    return VersionCard(
        id=view.id,
        root_id=view.root_id,
        parent_id=None if view.is_original else view.parent_id,
        name=view.name,
        tool=view.tool,
        label=label or tool_label(view.tool),
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
        labels = await labels_for(session, (v.id for v in views if not v.is_original))
    return [_version_card(v, labels.get(v.id)) for v in views]


async def upload_photo(user_id: int, *, data: bytes, filename: str) -> PhotoCard:
    """Store an upload as a new original; raises a PixoraError with the reason when it is refused."""
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=user_id, data=data, filename=filename)
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
    async with session_scope() as session:
        view = await assets.rename_asset(session, owner_id=user_id, asset_id=asset_id, name=name)
    return view.name


def share_link(version_id: str, name: str) -> str:
    """The version's public link (works while it is shared): `<BASE_URL>/ik/<id>/<name>`."""
    stem = _slug(name.rsplit(".", 1)[0] if "." in name else name)
    return get_settings().base_url + signing.public_path(version_id, name=f"{stem}.jpg")


async def set_shared(user_id: int, version_id: str, shared: bool) -> bool:
    """Let anyone with the link view this version (or stop that); returns the new state."""
    async with session_scope() as session:
        view = await assets.set_public(session, owner_id=user_id, asset_id=version_id, public=shared)
    return view.public


async def delete_photo(user_id: int, asset_id: str) -> list[str]:
    """Soft-delete a photo or a version; returns the ids to pass to `restore`."""
    async with session_scope() as session:
        return await assets.delete_asset(session, owner_id=user_id, asset_id=asset_id)


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


async def create_mask(user_id: int, *, for_asset_id: str, strokes: Sequence[Stroke], width: int, height: int) -> str:
    """Rasterise the strokes into a mask asset for the photo; returns its id for the tool's mask parameter."""
    png = await asyncio.to_thread(mask_png, strokes, width=width, height=height)
    async with session_scope() as session:
        view = await assets.create_mask_asset(session, owner_id=user_id, for_asset_id=for_asset_id, data=png)
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
    from pixora_ui.engine.tools.interpret import interpret  # noqa: PLC0415 - kept out of the web server's start

    plan = interpret(text)
    if plan.create:
        from pixora_ui.services.create import generate_provider  # noqa: PLC0415 - import cycle: create imports this module

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

    for choice in choices_for(PROMPT_TOOL):
        if choice.name == "local":
            continue
        if choice.available:
            generative.append((choice.name, choice.label))
        elif choice.reason:
            reasons.append(choice.reason)
    if generative:
        return PromptPreview(text=f"{generative[0][1]} will make this edit.", runnable=True, local=False)
    hint = reasons[0] if reasons else "no generative AI service is connected to this server"
    return PromptPreview(text=f"{plan.reason} ({hint})", runnable=False, local=False)


# ---------------------------------------------------------------- edits


# The one limit error (pixora_ui.errors), under the names the studio page catches.
LimitReachedError = LimitReached
EmailNotVerifiedError = EmailNotVerified


def result_card(view: JobView) -> VersionCard | None:
    """The new version a finished job's event carries (`job_views.result_fields`), with media URLs."""
    fields = view.result
    if not fields:
        return None
    return VersionCard(
        id=fields["id"],
        root_id=fields["root_id"],
        parent_id=fields["parent_id"],
        name=fields["name"],
        tool=fields["tool"],
        label=version_label(view.tool, view.params),
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
) -> JobView:
    """Queue an edit; LimitReached at the credit limit, a PixoraError with the reason otherwise."""
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
    return view


async def cancel_edit(user_id: int, job_id: str) -> JobView:
    async with session_scope() as session:
        view = await jobs.cancel(session, user_id=user_id, job_id=job_id)
    return view


def watch_jobs(user_id: int, callback: Callable[[JobView], Awaitable[None] | None]) -> Callable[[], None]:
    """Call `callback` for every change of the user's jobs; returns the unsubscribe function."""
    return jobs.subscribe(user_id, callback)


async def usage_of(user_id: int) -> Usage:
    async with session_scope() as session:
        return await get_usage(session, user_id=user_id)
