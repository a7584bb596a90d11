"""Shared content-addressed files under concurrency, mask quota, and results of deleted photos."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from db.models import Asset, as_utc
from db.session import session_scope
from pixora_ui.services import asset_files, assets
from pixora_ui.services.asset_encoding import EncodedImage
from pixora_ui.settings import get_settings, reset_settings
from pixora_ui.storage.base import StoredObject
from pixora_ui.storage.local import LocalStorage, key_for
from tests.services.conftest import jpeg_bytes, make_user, png_bytes, upload_photo

pytestmark = pytest.mark.usefixtures("test_registry")


def media_files() -> list[Path]:
    return sorted(p for p in get_settings().media_dir.rglob("*") if p.is_file())


class GatedStorage(LocalStorage):
    """The real local storage with pause points: `after_put` runs once a put has written (or skipped)
    the file, `before_delete` before a file is removed."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.after_put: Callable[[str], Awaitable[None]] | None = None
        self.before_delete: Callable[[str], Awaitable[None]] | None = None
        self.puts: list[tuple[str, bool]] = []  # (key, file existed before)

    async def put(self, data: bytes, *, sha256: str, mime: str, owner_id: int, filename: str) -> StoredObject:
        existed = self._path(key_for(sha256, mime)).exists()
        stored = await super().put(data, sha256=sha256, mime=mime, owner_id=owner_id, filename=filename)
        self.puts.append((stored.key, existed))
        if self.after_put is not None:
            await self.after_put(stored.key)
        return stored

    async def delete(self, key: str) -> None:
        if self.before_delete is not None:
            await self.before_delete(key)
        await super().delete(key)


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> GatedStorage:
    storage = GatedStorage(get_settings().media_dir)
    monkeypatch.setattr(asset_files, "get_storage", lambda backend=None: storage)  # puts and removals
    monkeypatch.setattr(assets, "get_storage", lambda backend=None: storage)  # reads
    return storage


async def _one_reference_left_then_deleted() -> tuple[int, bytes, assets.AssetView]:
    """A photo whose files only it uses, soft-deleted: the next purge removes its last reference."""
    owner = await make_user()
    data = jpeg_bytes()
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=owner, data=data, filename="a.jpg")
    async with session_scope() as session:
        await assets.delete_asset(session, owner_id=owner, asset_id=view.id)
    return owner, data, view


async def _purge() -> int:
    async with session_scope() as session:
        purged = await assets.purge_deleted(session, older_than=timedelta(0))
    await asset_files.wait_for_file_removals()
    return purged


async def _assert_files_intact(view: assets.AssetView, expected: assets.AssetView) -> None:
    assert (view.storage_key, view.preview_key) == (expected.storage_key, expected.preview_key)
    async with session_scope() as session:
        live = await assets.get_asset(session, owner_id=view.owner_id, asset_id=view.id)
        assert await assets.read_bytes(live) and await assets.read_bytes(live, variant="preview")
        assert await assets.load_pixels(session, owner_id=view.owner_id, asset_id=view.id) is not None
    assert asset_files._guard.claims == {} and asset_files._guard.removing == {}


async def test_purge_between_a_skipped_write_and_the_commit_keeps_the_file(gated: GatedStorage) -> None:
    """The reported race: the upload finds the file on disk (no write), then the last old reference is
    purged and its clean-up runs, then the upload's row commits."""
    _owner, data, old = await _one_reference_left_then_deleted()
    other = await make_user("other@example.com")
    stored = asyncio.Event()
    go_on = asyncio.Event()
    real_store = asset_files.store

    async def store_then_wait(encoded: EncodedImage, *, owner_id: int, filename: str) -> asset_files.StoredFiles:
        result = await real_store(encoded, owner_id=owner_id, filename=filename)
        stored.set()
        await go_on.wait()  # files stored, row not yet added or committed
        return result

    async def upload() -> assets.AssetView:
        async with session_scope() as session:
            return await assets.upload(session, owner_id=other, data=data, filename="same.jpg")

    gated.puts.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(asset_files, "store", store_then_wait)
        task = asyncio.create_task(upload())
        await asyncio.wait_for(stored.wait(), 10)
        assert [existed for _key, existed in gated.puts] == [True, True]  # both writes were skipped
        assert await _purge() == 1  # the old row is gone and its clean-up has run
        assert len(media_files()) == 2  # ... and kept the files the upload is about to use
        go_on.set()
        view = await asyncio.wait_for(task, 10)
    await _assert_files_intact(view, old)
    assert await _purge() == 0
    assert len(media_files()) == 2


async def test_file_removed_during_the_put_is_stored_again(gated: GatedStorage) -> None:
    """The clean-up checks and removes the file while the upload's put is still running (it had seen
    the file and skipped the write): the upload stores it again before adding its row."""
    _owner, data, old = await _one_reference_left_then_deleted()
    other = await make_user("other@example.com")
    in_put = asyncio.Event()
    go_on = asyncio.Event()

    async def pause_first_put(key: str) -> None:
        if key == old.storage_key and not in_put.is_set():
            in_put.set()
            await go_on.wait()

    gated.after_put = pause_first_put
    gated.puts.clear()

    async def upload() -> assets.AssetView:
        async with session_scope() as session:
            return await assets.upload(session, owner_id=other, data=data, filename="same.jpg")

    task = asyncio.create_task(upload())
    await asyncio.wait_for(in_put.wait(), 10)
    assert gated.puts == [(old.storage_key, True)]
    assert await _purge() == 1
    assert media_files() == []  # nothing claimed it yet: both files went
    go_on.set()
    view = await asyncio.wait_for(task, 10)
    assert [key for key, _existed in gated.puts].count(old.storage_key) == 2  # stored again
    await _assert_files_intact(view, old)


async def test_put_returning_while_the_file_is_being_deleted_waits_and_stores_again(gated: GatedStorage) -> None:
    _owner, data, old = await _one_reference_left_then_deleted()
    other = await make_user("other@example.com")
    deleting = asyncio.Event()
    go_on = asyncio.Event()

    async def pause_delete(key: str) -> None:
        if key == old.storage_key:
            deleting.set()
            await go_on.wait()

    gated.before_delete = pause_delete
    async with session_scope() as session:
        assert await assets.purge_deleted(session, older_than=timedelta(0)) == 1
    await asyncio.wait_for(deleting.wait(), 10)  # the clean-up found no row and is removing the file

    async def upload() -> assets.AssetView:
        async with session_scope() as session:
            return await assets.upload(session, owner_id=other, data=data, filename="same.jpg")

    gated.puts.clear()
    task = asyncio.create_task(upload())
    for _ in range(100):
        if gated.puts:
            break
        await asyncio.sleep(0.02)
    assert gated.puts == [(old.storage_key, True)]  # skipped: the file is still there
    assert not task.done()  # waiting for the removal
    go_on.set()
    view = await asyncio.wait_for(task, 10)
    await asset_files.wait_for_file_removals()
    assert [key for key, _existed in gated.puts].count(old.storage_key) == 2
    await _assert_files_intact(view, old)


async def test_concurrent_identical_uploads_and_purges_never_lose_a_file() -> None:
    """No pause points: uploads of the same bytes racing deletes and purges of earlier copies."""
    owner = await make_user()
    data = jpeg_bytes()
    for _round in range(4):
        first = await upload_photo(owner, data)
        async with session_scope() as session:
            await assets.delete_asset(session, owner_id=owner, asset_id=first)
        results = await asyncio.gather(_purge(), upload_photo(owner, data), _purge(), upload_photo(owner, data))
        uploaded = [r for r in results if isinstance(r, str)]
        async with session_scope() as session:
            for asset_id in uploaded:
                view = await assets.get_asset(session, owner_id=owner, asset_id=asset_id)
                assert await assets.read_bytes(view) and await assets.read_bytes(view, variant="preview")
            for asset_id in uploaded:
                await assets.delete_asset(session, owner_id=owner, asset_id=asset_id)
    assert await _purge() >= 0
    assert media_files() == []
    assert asset_files._guard.claims == {}


async def test_rolled_back_upload_leaves_no_file_and_no_claim() -> None:
    owner = await make_user()
    with pytest.raises(RuntimeError):
        async with session_scope() as session:
            await assets.upload(session, owner_id=owner, data=jpeg_bytes(), filename="a.jpg")
            assert len(asset_files._guard.claims) == 2
            raise RuntimeError("caller failed after the upload")
    await asset_files.wait_for_file_removals()
    assert media_files() == []
    assert asset_files._guard.claims == {}
    # A committed one keeps its files and releases its claims.
    await upload_photo(owner)
    assert len(media_files()) == 2 and asset_files._guard.claims == {}


async def test_masks_count_against_the_storage_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    owner = await make_user()
    rng = np.random.default_rng(7)
    # Noise is incompressible: the stored PNG is ~3.75 MB, so a 4 MB quota leaves ~0.25 MB.
    noise = rng.integers(0, 256, (1024, 1280, 3), dtype=np.uint8)
    photo = await upload_photo(owner, png_bytes(noise), "noise.png")
    monkeypatch.setenv("STORAGE_QUOTA_MB", "4")
    reset_settings()
    small = np.zeros((1024, 1280), np.uint8)
    small[100:200, 100:300] = 255  # a few strokes: a tiny PNG
    speckled = ((rng.random((1024, 1280)) < 0.5) * 255).astype(np.uint8)  # ~0.6 MB as a PNG
    async with session_scope() as session:
        mask = await assets.create_mask_asset(session, owner_id=owner, for_asset_id=photo, data=png_bytes(small))
        with pytest.raises(assets.QuotaExceeded):
            await assets.create_mask_asset(session, owner_id=owner, for_asset_id=photo, data=png_bytes(speckled))
        assert mask.tool == assets.MASK_TOOL
    monkeypatch.setenv("STORAGE_QUOTA_MB", "0")
    reset_settings()
    async with session_scope() as session:
        with pytest.raises(assets.QuotaExceeded):  # already full: refused before decoding
            await assets.create_mask_asset(session, owner_id=owner, for_asset_id=photo, data=png_bytes(small))
        count = await session.scalar(select(func.count()).select_from(Asset).where(Asset.tool == assets.MASK_TOOL))
    assert count == 1


async def test_result_of_a_deleted_photo_is_stored_deleted_and_purged() -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    async with session_scope() as session:
        version = await assets.store_result(
            session, owner_id=owner, parent_id=photo, pixels=np.zeros((32, 48, 3), np.uint8), tool="t-invert"
        )
    async with session_scope() as session:
        await assets.delete_asset(session, owner_id=owner, asset_id=photo)
        root = await session.get(Asset, photo)
        assert root is not None and root.deleted_at is not None
        deleted_at = as_utc(root.deleted_at)
    # A job on the photo (or on its version) finishes after the delete.
    pixels = np.full((40, 60, 3), 200, np.uint8)
    async with session_scope() as session:
        late = await assets.store_result(session, owner_id=owner, parent_id=photo, pixels=pixels, tool="t-invert")
        later = await assets.store_result(
            session, owner_id=owner, parent_id=version.id, pixels=pixels[:, :, ::-1].copy(), tool="t-invert"
        )
    assert late.deleted_at == deleted_at and later.deleted_at == deleted_at
    assert late.root_id == photo and later.parent_id == version.id
    async with session_scope() as session:
        assert await assets.list_library(session, owner_id=owner) == []
        assert await assets.find_asset(session, asset_id=late.id) is None
    assert await _purge() == 4  # the photo, its version and both late results
    assert media_files() == []


async def test_result_of_a_deleted_version_of_a_live_photo_stays_live() -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    pixels = np.zeros((32, 48, 3), np.uint8)
    async with session_scope() as session:
        version = await assets.store_result(session, owner_id=owner, parent_id=photo, pixels=pixels, tool="t-invert")
        await assets.delete_asset(session, owner_id=owner, asset_id=version.id)
    async with session_scope() as session:
        result = await assets.store_result(
            session, owner_id=owner, parent_id=version.id, pixels=pixels + 9, tool="t-invert"
        )
        versions = await assets.list_versions(session, owner_id=owner, root_id=photo)
    assert result.deleted_at is None
    assert [v.id for v in versions] == [photo, result.id]


async def test_undo_of_a_deleted_photo_brings_back_results_stored_meanwhile(any_db: str) -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    async with session_scope() as session:
        deleted = await assets.delete_asset(session, owner_id=owner, asset_id=photo)
    async with session_scope() as session:
        late = await assets.store_result(
            session, owner_id=owner, parent_id=photo, pixels=np.zeros((32, 48, 3), np.uint8), tool="t-invert"
        )
    assert late.deleted_at is not None
    async with session_scope() as session:
        assert await assets.undo_delete(session, owner_id=owner, asset_ids=deleted) == 2
    async with session_scope() as session:
        versions = await assets.list_versions(session, owner_id=owner, root_id=photo)
        items = await assets.list_library(session, owner_id=owner)
    assert [v.id for v in versions] == [photo, late.id]
    assert [(i.original.id, i.latest.id, i.versions) for i in items] == [(photo, late.id, 1)]
