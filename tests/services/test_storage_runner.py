"""Local storage (atomic, content-addressed, confined) and the runner's watchdog."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from db.models import Job, utcnow
from db.session import session_scope
from pixora_ui.services import jobs
from pixora_ui.storage.local import LocalStorage
from pixora_ui.workers import runner
from tests.services.conftest import make_user, upload_photo, usage_count


async def test_local_storage_is_atomic_content_addressed_and_confined(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    data = b"\x89PNG fake bytes"
    sha = hashlib.sha256(data).hexdigest()
    first = await storage.put(data, sha256=sha, mime="image/png", owner_id=1, filename="a.png")
    second = await storage.put(data, sha256=sha, mime="image/png", owner_id=2, filename="b.png")
    assert first.key == second.key == f"{sha[:2]}/{sha[2:4]}/{sha}.png"
    assert await storage.get(first.key) == data
    assert [p.name for p in (tmp_path / "media").rglob("*") if p.is_file()] == [f"{sha}.png"]
    for bad in ("../../etc/passwd", "/etc/passwd", f"{sha[:2]}/{sha[2:4]}/../{sha}.png"):
        with pytest.raises(FileNotFoundError):
            await storage.get(bad)
    await storage.delete(first.key)
    await storage.delete(first.key)  # deleting twice is fine
    with pytest.raises(FileNotFoundError):
        await storage.get(first.key)


@pytest.mark.usefixtures("test_registry")
async def test_recovery_ends_a_job_whose_worker_vanished_without_a_lease(any_db: str) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    async with session_scope() as session:
        view = await jobs.submit(session, user_id=user_id, asset_id=photo, tool="t-invert")
    # As if another process had claimed it long ago and vanished without a trace.
    async with session_scope() as session:
        await session.execute(
            update(Job).where(Job.id == view.id).values(status="running", started_at=utcnow() - timedelta(hours=2))
        )
    assert await runner.recover_expired() == 1
    async with session_scope() as session:
        after = await jobs.get_job(session, user_id=user_id, job_id=view.id)
    assert after.status == "failed" and after.credit_state == "refunded"
    assert after.error and "worker running this edit stopped" in after.error
    assert await usage_count(user_id) == 0
