"""A failed job says whether trying again can work (issue 18, item 3), decided where the failure
happens and stored on the row: a timeout, a provider outage, a crash or a stop can pass; a tool's
own error about the photo or the settings cannot."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select, update

from db.models import Job
from db.session import session_scope
from pixora_ui.services import jobs
from pixora_ui.services.job_execution import STOPPED_MESSAGE, JobExecutor, new_worker_id
from pixora_ui.services.jobs import JobView
from tests.services.conftest import make_pro, upload_photo

pytestmark = pytest.mark.usefixtures("test_registry")


async def _submit(user_id: int, photo: str, tool: str, **params: Any) -> JobView:
    async with session_scope() as session:
        return await jobs.submit(session, user_id=user_id, asset_id=photo, tool=tool, params=params)


async def _stored(job_id: str) -> bool | None:
    async with session_scope() as session:
        return await session.scalar(select(Job.retryable).where(Job.id == job_id))


async def _read(user_id: int, job_id: str) -> JobView:
    async with session_scope() as session:
        return await jobs.get_job(session, user_id=user_id, job_id=job_id)


@pytest.mark.usefixtures("running_runner")
async def test_each_failure_records_whether_trying_again_can_work(any_db: str) -> None:
    user_id = await make_pro()
    photo = await upload_photo(user_id)
    expected: list[tuple[str, dict[str, Any], str, bool | None]] = [
        ("t-fail", {}, "failed", False),  # the tool's own ToolError: this photo or these settings
        ("prompt", {"prompt": "a hat"}, "failed", False),  # NeedsGenerativeProvider, none configured
        ("t-outage", {}, "failed", True),  # a provider timed out, was unreachable, busy or broken
        ("t-crash", {}, "failed", True),  # an unexpected internal error
        ("t-invert", {}, "succeeded", None),
    ]
    for tool, params, status, retryable in expected:
        done = await jobs.wait_for((await _submit(user_id, photo, tool, **params)).id, user_id=user_id, timeout=30)
        assert done.status == status, (tool, done)
        assert done.retryable is retryable, (tool, done)
        assert done.can_retry is bool(retryable), tool
        assert await _stored(done.id) is retryable, tool
        assert (await _read(user_id, done.id)).retryable is retryable, tool


def _executor(seen: list[JobView]) -> JobExecutor:
    return JobExecutor(worker_id=new_worker_id("test"), emit=seen.append, timeout_s=60, lease_s=30)


async def test_a_job_stopped_with_its_server_can_be_tried_again(any_db: str) -> None:
    user_id = await make_pro()
    photo = await upload_photo(user_id)
    view = await _submit(user_id, photo, "t-slow", seconds=30)
    seen: list[JobView] = []
    executor = _executor(seen)
    running = await executor.claim(view.id)
    assert running is not None
    task = asyncio.create_task(executor.run(running))
    deadline = time.monotonic() + 20
    while not any(v.status == "running" and v.progress > 0 for v in seen):
        assert time.monotonic() < deadline, "the tool never reported progress"
        await asyncio.sleep(0.02)
    task.cancel()  # what stopping the worker's event loop does to a running job
    with pytest.raises(asyncio.CancelledError):
        await task
    running.cancel.set()  # let the engine thread go
    done = await _read(user_id, view.id)
    assert done.status == "failed" and done.error is not None and done.error.startswith(STOPPED_MESSAGE)
    assert done.retryable is True and await _stored(view.id) is True


async def test_a_provider_no_longer_configured_is_not_retryable(any_db: str) -> None:
    user_id = await make_pro()
    photo = await upload_photo(user_id)
    view = await _submit(user_id, photo, "t-invert")
    async with session_scope() as session:
        await session.execute(update(Job).where(Job.id == view.id).values(provider="gone"))
    seen: list[JobView] = []
    assert await _executor(seen).claim_and_run(view.id)
    done = await _read(user_id, view.id)
    assert done.status == "failed" and done.error is not None and "no longer configured" in done.error
    assert done.retryable is False and not done.can_retry


async def test_a_refused_request_and_a_failure_from_before_the_column() -> None:
    refused = JobView.refused("Remove background", "That photo was not found.")
    assert refused.status == "failed" and refused.retryable is False and not refused.can_retry
    user_id = await make_pro()
    photo = await upload_photo(user_id)
    view = await _submit(user_id, photo, "t-invert")
    async with session_scope() as session:  # a failure recorded before jobs.retryable existed
        await session.execute(update(Job).where(Job.id == view.id).values(status="failed", retryable=None))
    old = await _read(user_id, view.id)
    assert old.retryable is None and old.can_retry  # the old answer: "Try again" stays offered
