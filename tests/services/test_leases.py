"""Lease recovery takes only running jobs whose lease expired; a renewed lease always wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from db.models import Job, utcnow
from db.session import session_scope
from pixora_ui.services import jobs
from tests.services.conftest import make_user, upload_photo, usage_count

pytestmark = pytest.mark.usefixtures("test_registry")


async def _running(user_id: int, photo: str, key: str, **values: object) -> str:
    async with session_scope() as session:
        view = await jobs.submit(session, user_id=user_id, asset_id=photo, tool="t-invert", idempotency_key=key)
    async with session_scope() as session:
        await session.execute(
            update(Job).where(Job.id == view.id).values(status="running", worker_id="other:web:1:x", **values)
        )
    return view.id


async def _status(user_id: int, job_id: str) -> str:
    async with session_scope() as session:
        return (await jobs.get_job(session, user_id=user_id, job_id=job_id)).status


async def test_only_expired_leases_are_recovered(any_db: str) -> None:
    user_id = await make_user(limit=10)
    photo = await upload_photo(user_id)
    now = utcnow()
    live = await _running(user_id, photo, "live", started_at=now, lease_until=now + timedelta(seconds=30))
    expired = await _running(user_id, photo, "expired", started_at=now, lease_until=now - timedelta(seconds=1))
    legacy_old = await _running(user_id, photo, "legacy-old", started_at=now - timedelta(hours=1), lease_until=None)
    legacy_new = await _running(user_id, photo, "legacy-new", started_at=now, lease_until=None)
    assert await usage_count(user_id) == 4

    async with session_scope() as session:
        recovered = await jobs.recover_expired_leases(session, lease_s=30)
    assert {view.id for view in recovered} == {expired, legacy_old}
    assert all(view.credit_state == "refunded" and view.status == "failed" for view in recovered)
    assert all(view.retryable is True for view in recovered)  # the worker went away, not the request
    assert await _status(user_id, live) == "running"
    assert await _status(user_id, legacy_new) == "running"
    assert await usage_count(user_id) == 2


async def test_a_lease_renewed_after_the_scan_keeps_its_job(any_db: str) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    now = utcnow()
    job_id = await _running(user_id, photo, "k", started_at=now, lease_until=now - timedelta(seconds=1))
    async with session_scope() as session:
        assert await jobs.expired_leases(session, now=utcnow(), lease_s=30) == [job_id]
    # The worker's heartbeat lands between the scan and the update: the update must not take the job.
    async with session_scope() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() + timedelta(seconds=30)))
    async with session_scope() as session:
        view = await jobs.finish(
            session,
            job_id=job_id,
            status="failed",
            error="lost",
            message="Failed",
            from_states=("running",),
            lease_expired_by=utcnow(),
        )
    assert view is None
    assert await _status(user_id, job_id) == "running"
    assert await usage_count(user_id) == 1
