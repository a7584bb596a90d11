"""Assets: uploads, versions, the library, renames, and deletion with undo.

Uploads are normalised by `asset_encoding` (checked by content, EXIF-rotated, re-encoded) and their
files stored by `asset_files` (content-addressed, removed once no row refers to them). Deleting is
soft first (`deleted_at`), so the studio can offer "Undo" for `UNDO_WINDOW`; `purge_deleted`
removes rows and files after that (the job runner calls it periodically). Account deletion uses
`delete_all_assets`, which removes at once.

Every function takes the caller's AsyncSession first and never commits; file removal is
scheduled to run after the caller's commit so a rolled-back transaction never loses a file.

Public API (plain dataclasses out, never ORM objects):
    upload(session, *, owner_id, data, filename) -> AssetView
    create_mask_asset(session, *, owner_id, for_asset_id, data) -> AssetView
    store_result(session, *, owner_id, parent_id, pixels, tool, format_hint=None, encoded=None) -> AssetView
    store_created(session, *, owner_id, tool, encoded, params) -> AssetView
    get_asset(session, *, owner_id, asset_id) -> AssetView
    load_pixels(session, *, owner_id, asset_id) -> ImageArray
    read_bytes(view, *, variant="full") -> bytes
    rename_asset(session, *, owner_id, asset_id, name) -> AssetView
    set_public(session, *, owner_id, asset_id, public) -> AssetView   # transformation URLs without a signature
    delete_asset(session, *, owner_id, asset_id) -> list[str]      # soft; an original takes its versions
    undo_delete(session, *, owner_id, asset_ids) -> int
    purge_deleted(session, *, older_than=UNDO_WINDOW) -> int
    delete_all_assets(session, *, owner_id) -> int
    list_library(session, *, owner_id, limit=60, offset=0) -> list[LibraryItem]
    list_versions(session, *, owner_id, root_id) -> list[AssetView]
    storage_used(session, *, owner_id) -> int

One module on purpose: an asset row's life (insert, read, rename, soft delete, undo, purge) shares
the ownership and quota checks and the after-commit clean-up; files and encoding already live in
`asset_files` and `asset_encoding`.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Asset, as_utc, new_id, utcnow
from db.session import on_commit
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.errors import NotFound, PixoraError
from pixora_ui.services import asset_files, media
from pixora_ui.services.asset_encoding import (
    EncodedImage,
    decode_stored,
    encode_mask,
    encode_result,
    normalise_upload,
)
from pixora_ui.settings import get_settings
from pixora_ui.storage.factory import get_storage

if TYPE_CHECKING:
    from pixora_ui.engine.ops.imageio import ImageArray

UNDO_WINDOW = timedelta(minutes=10)
MASK_TOOL = "mask"  # masks for magic erase: kept with the photo, never listed as versions
_NAME_MAX = 200
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


class AssetError(PixoraError):
    """Base of asset errors; the message is safe to show."""


class AssetNotFound(AssetError, NotFound):
    def __init__(self) -> None:
        super().__init__("That photo was not found. It may have been deleted.")


class QuotaExceeded(AssetError):
    """The upload would take the user over their storage quota."""

    status = 413
    code = "quota_exceeded"


@dataclass(frozen=True, kw_only=True, slots=True)
class AssetView:
    id: str
    owner_id: int
    name: str
    mime: str
    size: int
    width: int
    height: int
    sha256: str
    parent_id: str | None
    root_id: str
    tool: str | None
    storage_backend: str
    storage_key: str
    preview_key: str | None
    created_at: datetime
    deleted_at: datetime | None
    public: bool = False  # transformation URLs work without a signature

    @property
    def is_original(self) -> bool:
        return self.root_id == self.id

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1_000_000

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(self.mime, "img")


@dataclass(frozen=True, kw_only=True, slots=True)
class LibraryItem:
    """An original upload with its newest version (the original itself when there is none)."""

    original: AssetView
    latest: AssetView
    versions: int  # edits made from this original (not counting the original)


def to_view(asset: Asset) -> AssetView:
    created = as_utc(asset.created_at)
    assert created is not None
    return AssetView(
        id=asset.id,
        owner_id=asset.owner_id,
        name=asset.name,
        mime=asset.mime,
        size=asset.size,
        width=asset.width,
        height=asset.height,
        sha256=asset.sha256,
        parent_id=asset.parent_id,
        root_id=asset.root_id or asset.id,
        tool=asset.tool,
        storage_backend=asset.storage_backend,
        storage_key=asset.storage_key,
        preview_key=asset.preview_key,
        created_at=created,
        deleted_at=as_utc(asset.deleted_at),
        public=bool(asset.public),
    )


def clean_name(name: str, *, fallback: str = "Photo") -> str:
    """A display name: no path, no control characters, trimmed, at most 200 characters."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = _BAD_NAME.sub(" ", text).strip().strip(".")
    return text[:_NAME_MAX].strip() or fallback


async def storage_used(session: AsyncSession, *, owner_id: int) -> int:
    """Bytes of the user's assets that are not deleted."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Asset.size), 0)).where(Asset.owner_id == owner_id, Asset.deleted_at.is_(None))
    )
    return int(total or 0)


async def _check_quota(session: AsyncSession, *, owner_id: int, adding: int) -> None:
    quota = get_settings().storage_quota_mb * 1024 * 1024
    used = await storage_used(session, owner_id=owner_id)
    if used + adding > quota:
        raise QuotaExceeded(
            f"Your storage is full ({get_settings().storage_quota_mb:,} MB). Delete some photos to upload more."
        )


async def upload(session: AsyncSession, *, owner_id: int, data: bytes, filename: str) -> AssetView:
    """Validate, normalise and store an uploaded photo as a new original.

    Raises imageio.ImageInputError (not an image, too big, too many pixels, damaged) and QuotaExceeded.
    """
    settings = get_settings()
    if len(data) > settings.max_upload_bytes:
        # Checked before decoding so an oversized body costs no CPU.

        size_mb = len(data) / (1024 * 1024)
        raise ImageInputError(
            f"The file is {size_mb:.0f} MB, larger than the {settings.max_upload_mb} MB limit.", code="too_many_bytes"
        )
    await _check_quota(session, owner_id=owner_id, adding=1)  # already full: refuse before decoding
    encoded = await asyncio.to_thread(normalise_upload, data)
    await _check_quota(session, owner_id=owner_id, adding=len(encoded.data))
    return await _insert_asset(session, owner_id=owner_id, encoded=encoded, name=clean_name(filename))


async def _insert_asset(
    session: AsyncSession,
    *,
    owner_id: int,
    encoded: EncodedImage,
    name: str,
    parent: Asset | None = None,
    tool: str | None = None,
    deleted_at: datetime | None = None,
) -> AssetView:
    """Store the files and add the row: an original without `parent`, else a version (or mask) of it."""
    files = await asset_files.store(encoded, owner_id=owner_id, filename=parent.name if parent else name)
    asset_id = new_id()
    asset = Asset(
        id=asset_id,
        owner_id=owner_id,
        parent_id=parent.id if parent else None,
        root_id=(parent.root_id or parent.id) if parent else asset_id,
        name=name,
        tool=tool,
        storage_backend=files.backend,
        storage_key=files.key,
        preview_key=files.preview_key,
        mime=encoded.mime,
        size=len(encoded.data),
        width=encoded.width,
        height=encoded.height,
        sha256=encoded.sha256,
        created_at=utcnow(),
        deleted_at=deleted_at,
    )
    try:
        session.add(asset)
        await session.flush()
    except BaseException:
        asset_files.discard(files.refs)
        raise
    asset_files.hold_until_transaction_ends(session, files.refs)
    return to_view(asset)


async def store_result(
    session: AsyncSession,
    *,
    owner_id: int,
    parent_id: str,
    pixels: ImageArray,
    tool: str,
    format_hint: str | None = None,
    encoded: EncodedImage | None = None,
) -> AssetView:
    """A tool's output as a new version of `parent_id` (same root, same name). No quota check:
    a paid result is always kept."""
    parent = await _owned(session, owner_id=owner_id, asset_id=parent_id, include_deleted=True)
    # A job can finish after its photo was deleted. Its result is stored deleted along with the
    # photo (same time, so the purge takes them together) rather than live under a root nobody sees.
    root_id = parent.root_id or parent.id
    root = parent if root_id == parent.id else await session.get(Asset, root_id)
    deleted_at = utcnow() if root is None else root.deleted_at
    if encoded is None:
        encoded = await asyncio.to_thread(encode_result, pixels, format_hint)
    return await _insert_asset(
        session, owner_id=owner_id, encoded=encoded, name=parent.name, parent=parent, tool=tool, deleted_at=deleted_at
    )


async def store_created(
    session: AsyncSession, *, owner_id: int, tool: str, encoded: EncodedImage, params: dict[str, Any]
) -> AssetView:
    """A picture made from nothing (text-to-image) as a new original photo, named "Created from: <prompt>".
    No quota check, like any paid result."""
    from pixora_ui.engine.tools.create import photo_name  # noqa: PLC0415 - kept out of the web server's start

    name = photo_name(str(params.get("prompt") or ""))
    return await _insert_asset(session, owner_id=owner_id, encoded=encoded, name=name, tool=tool)


async def create_mask_asset(
    session: AsyncSession, *, owner_id: int, for_asset_id: str, data: bytes | ImageArray
) -> AssetView:
    """Store an erase mask (PNG bytes or an H x W array; white = erase) for one of the user's photos.

    The mask is resized to the photo if needed, kept as a lossless grey PNG, and never listed as a
    version. Pass its id as the tool's image parameter.
    """
    parent = await _owned(session, owner_id=owner_id, asset_id=for_asset_id)
    await _check_quota(session, owner_id=owner_id, adding=1)  # already full: refuse before decoding
    encoded = await asyncio.to_thread(encode_mask, data, width=parent.width, height=parent.height)
    await _check_quota(session, owner_id=owner_id, adding=len(encoded.data))
    return await _insert_asset(
        session, owner_id=owner_id, encoded=encoded, name=f"{parent.name} (mask)", parent=parent, tool=MASK_TOOL
    )


async def _owned(session: AsyncSession, *, owner_id: int, asset_id: str, include_deleted: bool = False) -> Asset:
    if not isinstance(asset_id, str) or not asset_id or len(asset_id) > 32:
        raise AssetNotFound()
    asset = await session.get(Asset, asset_id)
    if asset is None or asset.owner_id != owner_id or (asset.deleted_at is not None and not include_deleted):
        raise AssetNotFound()
    return asset


async def get_asset(session: AsyncSession, *, owner_id: int, asset_id: str) -> AssetView:
    """One of the user's assets (not deleted); AssetNotFound for anything else."""
    return to_view(await _owned(session, owner_id=owner_id, asset_id=asset_id))


async def find_asset(session: AsyncSession, *, asset_id: str) -> AssetView | None:
    """Any live asset by id, without an owner check (media delivery checks ownership itself)."""
    if not asset_id or len(asset_id) > 32:
        return None
    asset = await session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None:
        return None
    return to_view(asset)


async def read_bytes(view: AssetView, *, variant: Literal["full", "preview"] = "full") -> bytes:
    key = view.preview_key if variant == "preview" and view.preview_key else view.storage_key
    try:
        return await get_storage(view.storage_backend).get(key)
    except FileNotFoundError as exc:
        raise AssetNotFound() from exc


async def load_pixels(session: AsyncSession, *, owner_id: int, asset_id: str) -> ImageArray:
    """The asset's pixels (RGB or RGBA, upright), decoded in a worker thread."""
    view = await get_asset(session, owner_id=owner_id, asset_id=asset_id)
    return await decode_view(view)


async def decode_view(view: AssetView) -> ImageArray:
    data = await read_bytes(view)
    return await asyncio.to_thread(decode_stored, data)


async def rename_asset(session: AsyncSession, *, owner_id: int, asset_id: str, name: str) -> AssetView:
    """Rename a photo; an original's versions keep their own names."""
    asset = await _owned(session, owner_id=owner_id, asset_id=asset_id)
    cleaned = clean_name(name, fallback="")
    if not cleaned:
        raise AssetError("Please enter a name.")
    asset.name = cleaned
    await session.flush()
    _forget_after_commit(session, [asset.id])
    return to_view(asset)


async def set_public(session: AsyncSession, *, owner_id: int, asset_id: str, public: bool) -> AssetView:
    """Let anyone open this photo's transformation links without a signature (or stop that)."""
    asset = await _owned(session, owner_id=owner_id, asset_id=asset_id)
    asset.public = bool(public)
    await session.flush()
    _forget_after_commit(session, [asset.id])
    return to_view(asset)


async def delete_asset(session: AsyncSession, *, owner_id: int, asset_id: str) -> list[str]:
    """Soft-delete a photo (an original takes all its versions and masks). Returns the ids for undo."""
    asset = await _owned(session, owner_id=owner_id, asset_id=asset_id)
    now = utcnow()
    if (asset.root_id or asset.id) == asset.id:
        condition = Asset.root_id == (asset.root_id or asset.id)
    else:
        # A version takes its masks with it; later versions made from it stay (their parent link is cleared on purge).
        condition = or_(Asset.id == asset.id, and_(Asset.parent_id == asset.id, Asset.tool == MASK_TOOL))
    ids = list(
        (
            await session.scalars(
                select(Asset.id).where(condition, Asset.owner_id == owner_id, Asset.deleted_at.is_(None))
            )
        ).all()
    )
    await session.execute(
        update(Asset).where(Asset.id.in_(ids)).values(deleted_at=now).execution_options(synchronize_session=False)
    )
    asset.deleted_at = now
    _forget_after_commit(session, ids)
    return ids


async def undo_delete(session: AsyncSession, *, owner_id: int, asset_ids: Sequence[str]) -> int:
    """Restore soft-deleted assets still inside the undo window; returns how many came back."""
    if not asset_ids:
        return 0
    cutoff = utcnow() - UNDO_WINDOW
    ids = list(asset_ids)
    originals = (
        await session.execute(
            select(Asset.id, Asset.deleted_at).where(
                Asset.id.in_(ids), Asset.owner_id == owner_id, Asset.root_id == Asset.id, Asset.deleted_at.is_not(None)
            )
        )
    ).all()
    # Results of jobs that finished after the delete were stored deleted at the same time: back too.
    late_results = [and_(Asset.root_id == root_id, Asset.deleted_at == stamp) for root_id, stamp in originals]
    result = await session.execute(
        update(Asset)
        .where(
            or_(Asset.id.in_(ids), *late_results),
            Asset.owner_id == owner_id,
            Asset.deleted_at.is_not(None),
            Asset.deleted_at > cutoff,
        )
        .values(deleted_at=None)
        .execution_options(synchronize_session=False)
    )
    _forget_after_commit(session, asset_ids)
    return int(getattr(result, "rowcount", 0) or 0)


async def _hard_delete(session: AsyncSession, rows: Iterable[tuple[str, str, str, str | None]]) -> int:
    """Delete asset rows; their files go after the commit unless another row still refers to them."""
    rows = list(rows)
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    _forget_after_commit(session, ids)
    await session.execute(delete(Asset).where(Asset.id.in_(ids)).execution_options(synchronize_session=False))
    candidates: set[tuple[str, str]] = set()
    for _id, backend, key, preview_key in rows:
        candidates.add((backend, key))
        if preview_key:
            candidates.add((backend, preview_key))
    asset_files.remove_after_commit(session, candidates)
    return len(ids)


async def purge_deleted(session: AsyncSession, *, older_than: timedelta = UNDO_WINDOW) -> int:
    """Remove assets deleted longer ago than `older_than`, and their files once unreferenced."""
    cutoff = utcnow() - older_than
    rows = (
        await session.execute(
            select(Asset.id, Asset.storage_backend, Asset.storage_key, Asset.preview_key).where(
                Asset.deleted_at.is_not(None), Asset.deleted_at <= cutoff
            )
        )
    ).all()
    return await _hard_delete(session, [(r[0], r[1], r[2], r[3]) for r in rows])


async def delete_all_assets(session: AsyncSession, *, owner_id: int) -> int:
    """Remove every asset of a user now (account deletion); files go after the commit."""
    rows = (
        await session.execute(
            select(Asset.id, Asset.storage_backend, Asset.storage_key, Asset.preview_key).where(
                Asset.owner_id == owner_id
            )
        )
    ).all()
    return await _hard_delete(session, [(r[0], r[1], r[2], r[3]) for r in rows])


def _forget_after_commit(session: AsyncSession, asset_ids: Iterable[str]) -> None:
    ids = list(asset_ids)
    media.forget(ids)  # now, and again after the commit in case a request cached the old row meanwhile
    on_commit(session, lambda: media.forget(ids))


async def list_library(session: AsyncSession, *, owner_id: int, limit: int = 60, offset: int = 0) -> list[LibraryItem]:
    """The user's originals, newest first, each with its newest version and the number of versions."""
    originals = list(
        (
            await session.scalars(
                select(Asset)
                .where(Asset.owner_id == owner_id, Asset.root_id == Asset.id, Asset.deleted_at.is_(None))
                .order_by(Asset.created_at.desc(), Asset.id.desc())
                .limit(max(1, min(limit, 500)))
                .offset(max(0, offset))
            )
        ).all()
    )
    if not originals:
        return []
    root_ids = [a.root_id or a.id for a in originals]
    versions = list(
        (
            await session.scalars(
                select(Asset)
                .where(
                    Asset.owner_id == owner_id,
                    Asset.root_id.in_(root_ids),
                    Asset.id != Asset.root_id,
                    Asset.deleted_at.is_(None),
                    or_(Asset.tool.is_(None), Asset.tool != MASK_TOOL),
                )
                .order_by(Asset.created_at.asc(), Asset.id.asc())
            )
        ).all()
    )
    latest: dict[str, Asset] = {}
    counts: dict[str, int] = {}
    for version in versions:
        root = version.root_id or version.id
        latest[root] = version
        counts[root] = counts.get(root, 0) + 1
    items = []
    for original in originals:
        root = original.root_id or original.id
        items.append(
            LibraryItem(
                original=to_view(original), latest=to_view(latest.get(root, original)), versions=counts.get(root, 0)
            )
        )
    return items


async def list_versions(session: AsyncSession, *, owner_id: int, root_id: str) -> list[AssetView]:
    """The original and all its edits (no masks), oldest first."""
    rows = (
        await session.scalars(
            select(Asset)
            .where(
                Asset.owner_id == owner_id,
                Asset.root_id == root_id,
                Asset.deleted_at.is_(None),
                or_(Asset.tool.is_(None), Asset.tool != MASK_TOOL),
            )
            .order_by(Asset.id != Asset.root_id, Asset.created_at.asc(), Asset.id.asc())
        )
    ).all()
    return [to_view(a) for a in rows]
