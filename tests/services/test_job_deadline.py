"""The job timeout covers the whole job: reading the input and saving the result, not only the tool."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import Asset
from db.session import session_scope
from pixora_ui.engine.tools.registry import ToolRegistry
from pixora_ui.services import assets, jobs
from pixora_ui.settings import get_settings, reset_settings
from pixora_ui.storage.local import LocalStorage
from pixora_ui.workers import runner
from tests.services.conftest import make_user, upload_photo, usage_count


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def _asset_count(user_id: int) -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).where(Asset.owner_id == user_id)) or 0)


async def _submit(user_id: int, photo: str) -> jobs.JobView:
    async with session_scope() as session:
        return await jobs.submit(session, user_id=user_id, asset_id=photo, tool="t-invert", params={})


@pytest.fixture
def one_second_timeout(monkeypatch: pytest.MonkeyPatch, test_registry: ToolRegistry) -> None:
    monkeypatch.setenv("JOB_TIMEOUT_S", "1")
    reset_settings()


@pytest.mark.usefixtures("one_second_timeout")
async def test_slow_storage_fails_refunds_and_leaves_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    media = Path(get_settings().media_dir)
    before = _files(media)
    original_put = LocalStorage.put
    finished_puts: list[str] = []

    async def slow_put(self: LocalStorage, data: bytes, **kwargs: Any) -> Any:
        await asyncio.sleep(4)  # hangs well past the 1 s deadline, then really writes
        stored = await original_put(self, data, **kwargs)
        finished_puts.append(stored.key)
        return stored

    monkeypatch.setattr(LocalStorage, "put", slow_put)
    await runner.start()
    try:
        view = await _submit(user_id, photo)
        done = await jobs.wait_for(view.id, user_id=user_id, timeout=15)
        assert done.status == "failed"
        assert done.error and "longer than 1 second" in done.error and "refunded" in done.error
        # The job failed at its deadline, not when the slow save returned (ordering, not wall time:
        # both are timers on one loop, so this holds on a busy machine too).
        assert finished_puts == [], "the job should fail at its deadline, not when the slow save returns"
        assert await usage_count(user_id) == 0
        # The save finishes later, finds the job failed, rolls back and removes what it wrote.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(finished_puts) >= 2 and not runner.get_runner()._saves:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.1)
        assert len(finished_puts) == 2
    finally:
        await runner.stop()
    assert _files(media) == before
    assert await _asset_count(user_id) == 1
    async with session_scope() as session:
        final = await jobs.get_job(session, user_id=user_id, job_id=view.id)
    assert final.status == "failed" and final.credit_state == "refunded"


@pytest.mark.usefixtures("one_second_timeout")
async def test_slow_input_read_fails_and_refunds(monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)

    async def hanging_read(view: assets.AssetView) -> bytes:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    monkeypatch.setattr(assets, "read_bytes", hanging_read)
    await runner.start()
    try:
        started = time.monotonic()
        view = await _submit(user_id, photo)
        done = await jobs.wait_for(view.id, user_id=user_id, timeout=15)
    finally:
        await runner.stop()
    assert done.status == "failed"
    assert done.error and "refunded" in done.error
    # Failed at its 1 s deadline, long before the 30 s read would return (generous for a busy machine).
    assert time.monotonic() - started < 25
    assert await usage_count(user_id) == 0
    assert await _asset_count(user_id) == 1
