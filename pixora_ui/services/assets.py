"""Assets: uploads, versions, the library, renames, deletion with undo, and file clean-up.

An upload is checked by its content (engine.imageio rules; limits from settings), EXIF-rotated,
and re-encoded before it is stored: JPEG at quality 95 for photos, PNG for anything with
transparency or from a lossless source. Re-encoding (rather than stripping EXIF blocks) is the
choice because it guarantees no metadata at all survives - GPS, camera serials, embedded
thumbnails that still show the unrotated or uncropped photo - and the stored width and height are
what users see. A small WebP preview is made at once for the UI.

Files are content-addressed: the same bytes are stored once and a file is removed only when no
asset row refers to it any more. Deleting is soft first (`deleted_at`), so the studio can offer
"Undo" for `UNDO_WINDOW`; `purge_deleted` removes rows and files after that (the job runner calls
it periodically). Account deletion uses `delete_all_assets`, which removes at once.

Every function takes the caller's AsyncSession first and never commits; file removal is
scheduled to run after the caller's commit so a rolled-back transaction never loses a file.

Public API (plain dataclasses out, never ORM objects):
    upload(session, *, owner_id, data, filename) -> AssetView
    create_mask_asset(session, *, owner_id, for_asset_id, data) -> AssetView
    store_result(session, *, owner_id, parent_id, pixels, tool, format_hint=None) -> AssetView
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
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Asset, as_utc, new_id, utcnow
from db.session import on_commit
from pixora_ui.errors import NotFound, PixoraError
from pixora_ui.settings import get_settings
from pixora_ui.storage.base import StorageError
from pixora_ui.storage.factory import get_storage

if TYPE_CHECKING:
    from pixora_ui.engine.imageio import DecodedImage, ImageArray

log = logging.getLogger("pixora.assets")

UNDO_WINDOW = timedelta(minutes=10)
MASK_TOOL = "mask"  # masks for magic erase: kept with the photo, never listed as versions
PREVIEW_SIDE = 512
_NAME_MAX = 200
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")
# Formats whose pixels are exact: re-encode them losslessly.
_LOSSLESS_SOURCES = frozenset({"png", "gif", "bmp", "tiff"})
_ORIGINAL_JPEG_QUALITY = 95


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


# --- encoding helpers (run in a worker thread) ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class _Encoded:
    data: bytes
    mime: str
    sha256: str
    width: int
    height: int
    preview: bytes
    preview_sha256: str


def _encode_for_storage(pixels: ImageArray, fmt: Literal["png", "jpeg", "webp"], quality: int) -> _Encoded:
    from pixora_ui.engine import imageio

    data = imageio.encode(pixels, fmt, quality)
    preview = imageio.make_preview(pixels, max_side=PREVIEW_SIDE)
    h, w = pixels.shape[:2]
    return _Encoded(
        data=data,
        mime=imageio.FORMAT_MIME[fmt],
        sha256=hashlib.sha256(data).hexdigest(),
        width=int(w),
        height=int(h),
        preview=preview,
        preview_sha256=hashlib.sha256(preview).hexdigest(),
    )


def _decode_upload(data: bytes) -> DecodedImage:
    from pixora_ui.engine import imageio

    settings = get_settings()
    return imageio.decode(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)


def _normalise_upload(data: bytes) -> _Encoded:
    decoded = _decode_upload(data)
    if decoded.has_alpha or decoded.format in _LOSSLESS_SOURCES:
        return _encode_for_storage(decoded.pixels, "png", 100)
    return _encode_for_storage(decoded.pixels, "jpeg", _ORIGINAL_JPEG_QUALITY)


def result_format(pixels: ImageArray, hint: str | None) -> Literal["png", "jpeg", "webp"]:
    """PNG when the result has visible transparency (or the tool asks for it), else JPEG."""
    if hint == "png":
        return "png"
    if hint == "jpeg":
        return "jpeg"
    if hint == "webp":
        return "webp"
    if pixels.ndim == 3 and pixels.shape[2] == 4 and bool(np.any(pixels[:, :, 3] < 255)):
        return "png"
    return "jpeg"


# --- storage and rows ----------------------------------------------------------------------------------


# --- files being written: kept safe from the unreferenced-file clean-up ---------------------------------
#
# Storage is content-addressed, so a new asset can share a file with one being purged. The clean-up
# removes a file once no row refers to it, but the row of a concurrent upload of the same bytes only
# exists after its commit (and the local backend skips rewriting a file that is already there). So,
# within this process: a stored file is "claimed" from its put until its row's transaction ends, the
# clean-up skips claimed files, and a put that overlapped the removal of its own file stores it again.

_FileRef = tuple[str, str]  # (backend, key)


@dataclass(eq=False, slots=True)
class _Removal:
    done: asyncio.Event
    touched: bool = False  # a put returned this key while the row check ran: keep the file
    started: bool = False  # the storage delete is under way


@dataclass(eq=False, slots=True)
class _FileGuard:
    claims: dict[_FileRef, int] = field(default_factory=dict)  # files whose row is not committed yet
    removing: dict[_FileRef, _Removal] = field(default_factory=dict)
    removal_seq: int = 0
    puts_in_flight: int = 0
    removals_started: dict[_FileRef, int] = field(default_factory=dict)  # removal seq numbers, while puts run


_guard = _FileGuard()
_PUT_ATTEMPTS = 3


def _claim(ref: _FileRef) -> None:
    _guard.claims[ref] = _guard.claims.get(ref, 0) + 1


def _release(refs: Iterable[_FileRef]) -> None:
    for ref in refs:
        left = _guard.claims.get(ref, 0) - 1
        if left > 0:
            _guard.claims[ref] = left
        else:
            _guard.claims.pop(ref, None)


async def _put_claimed(data: bytes, *, sha256: str, mime: str, owner_id: int, filename: str) -> _FileRef:
    """Store bytes and claim the file for the caller (release with `_release`)."""
    storage = get_storage()
    for _attempt in range(_PUT_ATTEMPTS):
        seq_before = _guard.removal_seq
        _guard.puts_in_flight += 1
        try:
            stored = await storage.put(data, sha256=sha256, mime=mime, owner_id=owner_id, filename=filename)
            ref = (storage.name, stored.key)
            removal = _guard.removing.get(ref)
            started = removal is not None and removal.started
            if not started and _guard.removals_started.get(ref, -1) <= seq_before:
                if removal is not None:
                    removal.touched = True  # its row check is still running: it must keep the file
                _claim(ref)
                return ref
        finally:
            _guard.puts_in_flight -= 1
            if _guard.puts_in_flight == 0:
                _guard.removals_started.clear()
        # The file was removed while it was being stored, or is being removed: let that finish (a
        # storage call, never a database wait), then store it again.
        if removal is not None and removal.started:
            await removal.done.wait()
    raise StorageError("Could not save the file on the server. Please try again.")


async def _store(encoded: _Encoded, *, owner_id: int, filename: str) -> tuple[str, str, str]:
    """Store a file and its preview, both claimed until the caller's transaction ends."""
    backend, key = await _put_claimed(
        encoded.data, sha256=encoded.sha256, mime=encoded.mime, owner_id=owner_id, filename=filename
    )
    try:
        _backend, preview_key = await _put_claimed(
            encoded.preview,
            sha256=encoded.preview_sha256,
            mime="image/webp",
            owner_id=owner_id,
            filename="preview.webp",
        )
    except BaseException:
        _release([(backend, key)])
        raise
    return backend, key, preview_key


def _hold_until_transaction_ends(session: AsyncSession, refs: list[_FileRef]) -> None:
    """Keep `refs` claimed until the session's current transaction ends. If it rolls back, the files
    may be orphans: check them then."""
    sync = session.sync_session
    root = sync.get_transaction()
    if root is None:  # nothing to wait for (not expected right after a flush)
        _release(refs)
        return
    committed = False

    def mark_committed(_session: Any) -> None:
        nonlocal committed
        if sync.get_transaction() is root and sync.get_nested_transaction() is None:
            committed = True

    def on_end(_session: Any, transaction: Any) -> None:
        nonlocal refs
        if transaction is not root or not refs:
            return
        held, refs = refs, []
        _release(held)
        if not committed:
            _schedule_removal(set(held))

    sa_event.listen(sync, "after_commit", mark_committed)
    sa_event.listen(sync, "after_transaction_end", on_end)


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
        from pixora_ui.engine.imageio import ImageInputError

        size_mb = len(data) / (1024 * 1024)
        raise ImageInputError(
            f"The file is {size_mb:.0f} MB, larger than the {settings.max_upload_mb} MB limit.", code="too_many_bytes"
        )
    await _check_quota(session, owner_id=owner_id, adding=1)  # already full: refuse before decoding
    encoded = await asyncio.to_thread(_normalise_upload, data)
    await _check_quota(session, owner_id=owner_id, adding=len(encoded.data))
    return await _insert_asset(session, owner_id=owner_id, encoded=encoded, name=clean_name(filename))


async def _insert_asset(
    session: AsyncSession,
    *,
    owner_id: int,
    encoded: _Encoded,
    name: str,
    parent: Asset | None = None,
    tool: str | None = None,
    deleted_at: datetime | None = None,
) -> AssetView:
    """Store the files and add the row: an original without `parent`, else a version (or mask) of it."""
    backend, key, preview_key = await _store(encoded, owner_id=owner_id, filename=parent.name if parent else name)
    refs = [(backend, key), (backend, preview_key)]
    asset_id = new_id()
    asset = Asset(
        id=asset_id,
        owner_id=owner_id,
        parent_id=parent.id if parent else None,
        root_id=(parent.root_id or parent.id) if parent else asset_id,
        name=name,
        tool=tool,
        storage_backend=backend,
        storage_key=key,
        preview_key=preview_key,
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
        _release(refs)
        _schedule_removal(set(refs))
        raise
    _hold_until_transaction_ends(session, refs)
    return to_view(asset)


async def store_result(
    session: AsyncSession,
    *,
    owner_id: int,
    parent_id: str,
    pixels: ImageArray,
    tool: str,
    format_hint: str | None = None,
    encoded: _Encoded | None = None,
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
        fmt = result_format(pixels, format_hint)
        quality = get_settings().jpeg_quality
        encoded = await asyncio.to_thread(_encode_for_storage, pixels, fmt, quality)
    return await _insert_asset(
        session, owner_id=owner_id, encoded=encoded, name=parent.name, parent=parent, tool=tool, deleted_at=deleted_at
    )


async def store_created(
    session: AsyncSession, *, owner_id: int, tool: str, encoded: _Encoded, params: dict[str, Any]
) -> AssetView:
    """A picture made from nothing (text-to-image) as a new original photo, named "Created from: <prompt>".
    No quota check, like any paid result."""
    from pixora_ui.engine.tools_create import photo_name

    name = photo_name(str(params.get("prompt") or ""))
    return await _insert_asset(session, owner_id=owner_id, encoded=encoded, name=name, tool=tool)


def encode_result(pixels: ImageArray, format_hint: str | None) -> _Encoded:
    """Encode a result off the event loop before opening a transaction (the runner does this)."""
    return _encode_for_storage(pixels, result_format(pixels, format_hint), get_settings().jpeg_quality)


async def create_mask_asset(
    session: AsyncSession, *, owner_id: int, for_asset_id: str, data: bytes | ImageArray
) -> AssetView:
    """Store an erase mask (PNG bytes or an H x W array; white = erase) for one of the user's photos.

    The mask is resized to the photo if needed, kept as a lossless grey PNG, and never listed as a
    version. Pass its id as the tool's image parameter.
    """
    parent = await _owned(session, owner_id=owner_id, asset_id=for_asset_id)
    await _check_quota(session, owner_id=owner_id, adding=1)  # already full: refuse before decoding
    target = (parent.height, parent.width)

    def prepare() -> _Encoded:
        import cv2

        if isinstance(data, (bytes, bytearray)):
            settings = get_settings()
            from pixora_ui.engine import imageio

            pixels = imageio.decode(bytes(data), max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)
            array = pixels.pixels
        else:
            array = np.asarray(data)
        if array.ndim == 3:
            if array.shape[2] == 4 and bool(np.any(array[:, :, 3] < 255)):
                grey = array[:, :, 3]  # strokes drawn on a transparent layer
            else:
                grey = array[:, :, :3].max(axis=2)
        else:
            grey = array
        grey = np.ascontiguousarray(grey.astype(np.uint8))
        if grey.shape[:2] != target:
            grey = np.asarray(cv2.resize(grey, (target[1], target[0]), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
        mask = np.where(grey >= 128, 255, 0).astype(np.uint8)
        rgb = np.repeat(mask[:, :, None], 3, axis=2)
        return _encode_for_storage(rgb, "png", 100)

    encoded = await asyncio.to_thread(prepare)
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


def decode_stored(data: bytes) -> ImageArray:
    """Decode a stored file (blocking: call it in a worker thread)."""
    from pixora_ui.engine import imageio

    settings = get_settings()
    # Stored files were validated on the way in; results (upscales) may exceed the upload limits.
    limit = max(settings.max_pixels, int(settings.upscale_max_mp * 1_000_000)) * 2
    return imageio.decode(data, max_bytes=1 << 31, max_pixels=limit).pixels


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
    _remove_files_after_commit(session, candidates)
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
    from pixora_ui.services import media

    ids = list(asset_ids)
    media.forget(ids)  # now, and again after the commit in case a request cached the old row meanwhile
    on_commit(session, lambda: media.forget(ids))


_pending_removals: set[asyncio.Task[int]] = set()


def _schedule_removal(candidates: set[tuple[str, str]]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(remove_unreferenced_files(candidates))
    _pending_removals.add(task)
    task.add_done_callback(_pending_removals.discard)


def _remove_files_after_commit(session: AsyncSession, candidates: set[tuple[str, str]]) -> None:
    on_commit(session, lambda: _schedule_removal(candidates))


async def remove_unreferenced_files(candidates: Iterable[tuple[str, str]]) -> int:
    """Delete each (backend, key) file that no asset row refers to any more. Re-checked in a fresh
    transaction right before each removal; a file claimed by an upload whose row is not committed yet
    is kept (see `_put_claimed`)."""
    from db.session import session_scope

    removed = 0
    for backend, key in candidates:
        ref = (backend, key)
        while (other := _guard.removing.get(ref)) is not None:
            await other.done.wait()  # its row check may predate the commit that scheduled this one
        if ref in _guard.claims:
            continue  # being written: its row is not committed yet
        removal = _Removal(done=asyncio.Event())
        _guard.removing[ref] = removal
        try:
            async with session_scope() as session:
                still_used = await session.scalar(
                    select(func.count())
                    .select_from(Asset)
                    .where(Asset.storage_backend == backend, or_(Asset.storage_key == key, Asset.preview_key == key))
                )
            if still_used or removal.touched or ref in _guard.claims:
                continue
            removal.started = True
            _guard.removal_seq += 1
            if _guard.puts_in_flight:
                _guard.removals_started[ref] = _guard.removal_seq
            await get_storage(backend).delete(key)
            removed += 1
        except (OSError, StorageError):
            log.warning("could not remove stored file %s/%s", backend, key)
        finally:
            del _guard.removing[ref]
            removal.done.set()
    return removed


async def wait_for_file_removals() -> None:
    """Wait until scheduled file removals have finished (tests, shutdown)."""
    while _pending_removals:
        await asyncio.gather(*list(_pending_removals), return_exceptions=True)


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
