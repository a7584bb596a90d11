"""Jobs and credits on SQLite and PostgreSQL: atomic reservation, idempotency, refunds, cancel, timeout."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import CREDIT_KEPT, CREDIT_NONE, CREDIT_REFUNDED, Job, User, utcnow
from db.session import session_scope
from pixora_ui.engine.tools.registry import ParamError, ToolRegistry
from pixora_ui.services import assets, jobs, usage
from pixora_ui.services.jobs import JobView, LimitReached
from pixora_ui.settings import reset_settings
from pixora_ui.workers import runner
from tests.services.conftest import make_pro, make_user, upload_photo, usage_count

pytestmark = pytest.mark.usefixtures("test_registry")


async def _submit(
    user_id: int, asset_id: str, tool: str = "t-invert", key: str | None = None, **params: object
) -> JobView:
    async with session_scope() as session:
        return await jobs.submit(
            session, user_id=user_id, asset_id=asset_id, tool=tool, params=dict(params), idempotency_key=key
        )


async def test_twenty_concurrent_submits_spend_exactly_three_credits(any_db: str) -> None:
    user_id = await make_user()
    asset_id = await upload_photo(user_id)

    async def attempt(i: int) -> str:
        try:
            await _submit(user_id, asset_id, key=f"click-{i}")
            return "accepted"
        except LimitReached:
            return "refused"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert outcomes.count("accepted") == 3
    assert outcomes.count("refused") == 17
    assert await usage_count(user_id) == 3
    async with session_scope() as session:
        rows = (await session.scalars(select(Job).where(Job.user_id == user_id))).all()
    assert len(rows) == 3


async def test_same_idempotency_key_is_one_job_and_one_credit(any_db: str) -> None:
    user_id = await make_user()
    asset_id = await upload_photo(user_id)
    views = await asyncio.gather(*(_submit(user_id, asset_id, key="same-key") for _ in range(5)))
    assert len({v.id for v in views}) == 1
    assert await usage_count(user_id) == 1
    again = await _submit(user_id, asset_id, key="same-key")
    assert again.id == views[0].id
    assert await usage_count(user_id) == 1


async def test_pro_and_free_tools_cost_nothing(any_db: str) -> None:
    pro = await make_pro()
    photo = await upload_photo(pro)
    for i in range(5):
        view = await _submit(pro, photo, key=f"k{i}")
        assert view.credit_state == CREDIT_NONE
    assert await usage_count(pro) == 0
    free = await make_user(limit=0)
    photo2 = await upload_photo(free)
    assert (await _submit(free, photo2, tool="t-free")).credit_state == CREDIT_NONE
    with pytest.raises(LimitReached):
        await _submit(free, photo2, tool="t-invert")


async def test_submit_validates_params_and_ownership(any_db: str) -> None:
    owner = await make_user()
    stranger = await make_user("other@example.com")
    photo = await upload_photo(owner)
    with pytest.raises(ParamError):
        await _submit(owner, photo, tool="t-slow", seconds=999)
    with pytest.raises(ParamError):
        await _submit(owner, photo, tool="t-invert", nonsense=1)
    with pytest.raises(jobs.AssetNotFound):
        await _submit(stranger, photo)
    other_photo = await upload_photo(stranger)
    with pytest.raises(jobs.AssetNotFound):
        await _submit(owner, photo, tool="t-mask", mask=other_photo)
    with pytest.raises(jobs.ToolError):
        await _submit(owner, photo, tool="no-such-tool")
    assert await usage_count(owner) == 0


@pytest.mark.usefixtures("running_runner")
async def test_success_keeps_credit_and_stores_a_version(any_db: str) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    view = await _submit(user_id, photo)
    done = await jobs.wait_for(view.id, user_id=user_id, timeout=20)
    assert done.status == "succeeded", done
    assert done.credit_state == CREDIT_KEPT
    assert done.progress == 1.0
    assert await usage_count(user_id) == 1
    async with session_scope() as session:
        result = await assets.get_asset(session, owner_id=user_id, asset_id=done.result_asset_id or "")
        original = await assets.get_asset(session, owner_id=user_id, asset_id=photo)
        history = await assets.list_versions(session, owner_id=user_id, root_id=photo)
        library = await assets.list_library(session, owner_id=user_id)
    assert result.parent_id == photo and result.root_id == photo and result.tool == "t-invert"
    assert (result.width, result.height) == (original.width, original.height)
    assert [a.id for a in history] == [photo, result.id]
    assert library[0].original.id == photo and library[0].latest.id == result.id and library[0].versions == 1


@pytest.mark.usefixtures("running_runner")
async def test_failing_tool_refunds_with_a_clear_message(any_db: str) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    for tool in ("t-fail", "t-crash"):
        view = await _submit(user_id, photo, tool=tool)
        done = await jobs.wait_for(view.id, user_id=user_id, timeout=20)
        assert done.status == "failed"
        assert done.credit_state == CREDIT_REFUNDED
        assert done.error and "credit was refunded" in done.error
    assert await usage_count(user_id) == 0


@pytest.mark.usefixtures("running_runner")
async def test_cancel_running_and_queued_jobs_refund(any_db: str) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    first = await _submit(user_id, photo, tool="t-slow", seconds=30)
    second = await _submit(user_id, photo, tool="t-slow", seconds=30)
    seen: list[JobView] = []
    unsubscribe = jobs.subscribe(first.id, seen.append)
    for _ in range(200):
        async with session_scope() as session:
            if (await jobs.get_job(session, user_id=user_id, job_id=first.id)).status == "running":
                break
        await asyncio.sleep(0.05)
    async with session_scope() as session:
        queued = await jobs.get_job(session, user_id=user_id, job_id=second.id)
        assert queued.status == "queued" and queued.queue_position == 1
        cancelled_queued = await jobs.cancel(session, user_id=user_id, job_id=second.id)
    assert cancelled_queued.status == "cancelled" and cancelled_queued.credit_state == CREDIT_REFUNDED
    # Cancel the first job once it has reported progress mid-way (a condition, not a guessed pause).
    deadline = time.monotonic() + 30
    while not any(v.status == "running" and 0 < v.progress < 1 for v in seen) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    async with session_scope() as session:
        await jobs.cancel(session, user_id=user_id, job_id=first.id)
    done = await jobs.wait_for(first.id, user_id=user_id, timeout=10)
    unsubscribe()
    assert done.status == "cancelled" and done.credit_state == CREDIT_REFUNDED
    assert any(v.status == "running" and 0 < v.progress < 1 for v in seen)
    assert await usage_count(user_id) == 0


async def test_timeout_fails_and_refunds(monkeypatch: pytest.MonkeyPatch, test_registry: ToolRegistry) -> None:
    monkeypatch.setenv("JOB_TIMEOUT_S", "1")
    reset_settings()
    await runner.start()
    try:
        user_id = await make_user()
        photo = await upload_photo(user_id)
        view = await _submit(user_id, photo, tool="t-slow", seconds=20)
        done = await jobs.wait_for(view.id, user_id=user_id, timeout=15)
    finally:
        await runner.stop()
    assert done.status == "failed"
    assert done.error and "longer than 1 second " in done.error and "refunded" in done.error
    assert done.retryable is True  # the deadline passed: the same edit may finish another time
    assert await usage_count(user_id) == 0


async def test_local_concurrency_is_bounded(monkeypatch: pytest.MonkeyPatch, test_registry: ToolRegistry) -> None:
    monkeypatch.setenv("LOCAL_JOB_CONCURRENCY", "1")
    reset_settings()
    user_id = await make_pro()
    photo = await upload_photo(user_id)
    seen: list[JobView] = []
    unsubscribe = jobs.subscribe(user_id, seen.append)  # every job of this user
    await runner.start()
    try:
        views = [await _submit(user_id, photo, tool="t-slow", seconds=0.3) for _ in range(3)]
        running_at_once = 0
        for _ in range(100):
            async with session_scope() as session:
                states = [(await jobs.get_job(session, user_id=user_id, job_id=v.id)).status for v in views]
            running_at_once = max(running_at_once, states.count("running"))
            if all(s == "succeeded" for s in states):
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
        unsubscribe()
    assert states == ["succeeded"] * 3
    assert running_at_once == 1
    assert {v.id for v in seen if v.status == "succeeded"} == {v.id for v in views}


async def test_monthly_reset_gives_free_users_new_credits(monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = await make_user()
    async with session_scope() as session:
        row = await session.get(User, user_id)
        assert row is not None
        row.usage_count = 3
        row.period_start = utcnow() - timedelta(days=31)
    async with session_scope() as session:
        assert (await usage.get_usage(session, user_id=user_id)).remaining == 0  # setting off: nothing changes
    monkeypatch.setenv("FREE_MONTHLY_RESET", "true")
    reset_settings()
    async with session_scope() as session:
        assert (await usage.get_usage(session, user_id=user_id)).remaining == 3
        assert await usage.reserve_credit(session, user_id=user_id) is True
    async with session_scope() as session:
        current = await usage.get_usage(session, user_id=user_id)  # same period: no second reset
    assert (current.used, current.remaining) == (1, 2)
