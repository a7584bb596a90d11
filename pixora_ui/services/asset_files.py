"""Content-addressed asset files: storing them claimed, and removing them once no row refers to them.

Storage is content-addressed: the same bytes are stored once, and a file is removed only when no
asset row refers to it any more. A new asset can therefore share a file with one being purged,
and the row of a concurrent upload of the same bytes only exists after its commit (the local
backend also skips rewriting a file that is already there). So, within this process: a stored
file is "claimed" from its put until its row's transaction ends, the clean-up skips claimed files,
and a put that overlapped the removal of its own file stores it again.

Removal is scheduled to run after the caller's commit, so a rolled-back transaction never loses a
file; a rolled-back transaction's own new files are checked then, and removed if nothing uses them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Asset
from db.session import on_commit, session_scope
from pixora_ui.services.asset_encoding import EncodedImage
from pixora_ui.storage.base import StorageError
from pixora_ui.storage.factory import get_storage

log = logging.getLogger("pixora.assets")

FileRef = tuple[str, str]  # (backend, key)
_PUT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class StoredFiles:
    """An image's file and its preview, in one backend."""

    backend: str
    key: str
    preview_key: str

    @property
    def refs(self) -> list[FileRef]:
        return [(self.backend, self.key), (self.backend, self.preview_key)]


@dataclass(eq=False, slots=True)
class _Removal:
    done: asyncio.Event
    touched: bool = False  # a put returned this key while the row check ran: keep the file
    started: bool = False  # the storage delete is under way


@dataclass(eq=False, slots=True)
class _FileGuard:
    claims: dict[FileRef, int] = field(default_factory=dict)  # files whose row is not committed yet
    removing: dict[FileRef, _Removal] = field(default_factory=dict)
    removal_seq: int = 0
    puts_in_flight: int = 0
    removals_started: dict[FileRef, int] = field(default_factory=dict)  # removal seq numbers, while puts run


_guard = _FileGuard()
_pending_removals: set[asyncio.Task[int]] = set()


def _claim(ref: FileRef) -> None:
    _guard.claims[ref] = _guard.claims.get(ref, 0) + 1


def release(refs: Iterable[FileRef]) -> None:
    """Drop one claim on each file (the clean-up may remove it once no row refers to it)."""
    for ref in refs:
        left = _guard.claims.get(ref, 0) - 1
        if left > 0:
            _guard.claims[ref] = left
        else:
            _guard.claims.pop(ref, None)


async def _put_claimed(data: bytes, *, sha256: str, mime: str, owner_id: int, filename: str) -> FileRef:
    """Store bytes and claim the file for the caller (release with `release`)."""
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


async def store(encoded: EncodedImage, *, owner_id: int, filename: str) -> StoredFiles:
    """Store an image and its preview, both claimed until `hold_until_transaction_ends` (or `discard`)."""
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
        release([(backend, key)])
        raise
    return StoredFiles(backend, key, preview_key)


def discard(refs: Iterable[FileRef]) -> None:
    """Give up stored files whose row was never added: release them and remove them unless used."""
    held = list(refs)
    release(held)
    _schedule_removal(set(held))


def hold_until_transaction_ends(session: AsyncSession, refs: list[FileRef]) -> None:
    """Keep `refs` claimed until the session's current transaction ends. If it rolls back, the files
    may be orphans: check them then."""
    sync = session.sync_session
    root = sync.get_transaction()
    if root is None:  # nothing to wait for (not expected right after a flush)
        release(refs)
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
        release(held)
        if not committed:
            _schedule_removal(set(held))

    sa_event.listen(sync, "after_commit", mark_committed)
    sa_event.listen(sync, "after_transaction_end", on_end)


def remove_after_commit(session: AsyncSession, candidates: set[FileRef]) -> None:
    """Once the session commits, remove each file no asset row refers to any more."""
    on_commit(session, lambda: _schedule_removal(candidates))


def _schedule_removal(candidates: set[FileRef]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(remove_unreferenced_files(candidates))
    _pending_removals.add(task)
    task.add_done_callback(_pending_removals.discard)


async def remove_unreferenced_files(candidates: Iterable[FileRef]) -> int:
    """Delete each (backend, key) file that no asset row refers to any more. Re-checked in a fresh
    transaction right before each removal; a file claimed by an upload whose row is not committed yet
    is kept (see `_put_claimed`)."""
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
