"""`asset_files` on its own: claimed files survive the clean-up, unreferenced ones go, and a
transaction's end releases (commit) or removes (rollback) the files it stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from db.models import Asset, new_id, utcnow
from db.session import session_scope
from pixora_ui.services import asset_files
from pixora_ui.services.asset_encoding import EncodedImage, encode_for_storage
from pixora_ui.settings import get_settings
from tests.services.conftest import make_user


def media_files() -> list[Path]:
    return sorted(p for p in get_settings().media_dir.rglob("*") if p.is_file())


def encoded(value: int = 90) -> EncodedImage:
    return encode_for_storage(np.full((24, 32, 3), value, np.uint8), "png", 100)


@pytest.fixture(autouse=True)
def no_claims_left() -> Iterator[None]:
    yield
    assert asset_files._guard.claims == {} and asset_files._guard.removing == {}


async def test_a_claimed_file_survives_the_clean_up_until_it_is_released() -> None:
    stored = await asset_files.store(encoded(), owner_id=1, filename="a.png")
    assert await asset_files.remove_unreferenced_files(stored.refs) == 0
    assert len(media_files()) == 2  # the image and its preview
    asset_files.release(stored.refs)
    assert await asset_files.remove_unreferenced_files(stored.refs) == 2
    assert media_files() == []


async def test_the_same_bytes_stored_twice_are_one_file_with_two_claims() -> None:
    first = await asset_files.store(encoded(), owner_id=1, filename="a.png")
    second = await asset_files.store(encoded(), owner_id=2, filename="b.png")
    assert first == second and len(media_files()) == 2
    asset_files.release(first.refs)
    assert await asset_files.remove_unreferenced_files(first.refs) == 0  # still claimed once
    asset_files.release(second.refs)
    assert await asset_files.remove_unreferenced_files(first.refs) == 2


async def test_a_file_an_asset_row_refers_to_is_kept() -> None:
    owner = await make_user()
    image = encoded()
    async with session_scope() as session:
        stored = await asset_files.store(image, owner_id=owner, filename="a.png")
        session.add(
            Asset(
                id=new_id(),
                owner_id=owner,
                name="a.png",
                storage_backend=stored.backend,
                storage_key=stored.key,
                preview_key=stored.preview_key,
                mime=image.mime,
                size=len(image.data),
                width=image.width,
                height=image.height,
                sha256=image.sha256,
                created_at=utcnow(),
            )
        )
        await session.flush()
        asset_files.hold_until_transaction_ends(session, stored.refs)
    assert asset_files._guard.claims == {}  # the commit released them
    assert await asset_files.remove_unreferenced_files(stored.refs) == 0
    assert len(media_files()) == 2


async def test_a_rolled_back_transaction_removes_the_files_it_stored() -> None:
    with pytest.raises(RuntimeError):
        async with session_scope() as session:
            await session.connection()  # the transaction the caller's row would be added in
            stored = await asset_files.store(encoded(), owner_id=1, filename="a.png")
            asset_files.hold_until_transaction_ends(session, stored.refs)
            assert len(media_files()) == 2
            raise RuntimeError("the caller failed before its row was committed")
    await asset_files.wait_for_file_removals()
    assert media_files() == []


async def test_files_given_up_for_removal_after_a_commit_go_once_it_commits() -> None:
    stored = await asset_files.store(encoded(), owner_id=1, filename="a.png")
    asset_files.release(stored.refs)
    async with session_scope() as session:
        asset_files.remove_after_commit(session, set(stored.refs))
        await asset_files.wait_for_file_removals()
        assert len(media_files()) == 2  # nothing before the commit
    await asset_files.wait_for_file_removals()
    assert media_files() == []
    kept = await asset_files.store(encoded(7), owner_id=1, filename="b.png")
    asset_files.discard(kept.refs)  # a row that was never added: released and removed
    await asset_files.wait_for_file_removals()
    assert media_files() == []
