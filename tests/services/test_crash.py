"""Crash safety with leases: a killed instance's job is recovered once its lease expires (failed,
refunded, nothing lost), and a restart of one instance never touches another instance's live job."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.models import Job
from db.session import session_scope
from pixora_ui.services import assets, jobs
from pixora_ui.settings import get_settings, reset_settings
from pixora_ui.storage.local import PARTIAL_FILE_GRACE_S
from pixora_ui.workers import runner
from tests.services.conftest import make_user, upload_photo, usage_count

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("test_registry")
LEASE_S = 2


@pytest.fixture(autouse=True)
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_LEASE_S", str(LEASE_S))
    reset_settings()


@pytest.fixture
def other_instance() -> Iterator[list[subprocess.Popen[str]]]:
    """Started instances (crash_worker processes); always ended after the test."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _start_instance(job_id: str, started: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.services.crash_worker", job_id],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "RUNNING"
    return process


async def _status(user_id: int, job_id: str) -> jobs.JobView:
    async with session_scope() as session:
        return await jobs.get_job(session, user_id=user_id, job_id=job_id)


async def _slow_job(user_id: int, photo: str, key: str, seconds: float = 60) -> jobs.JobView:
    async with session_scope() as session:
        return await jobs.submit(
            session, user_id=user_id, asset_id=photo, tool="t-slow", params={"seconds": seconds}, idempotency_key=key
        )


async def test_killed_instance_is_recovered_after_its_lease_with_refund(
    any_db: str, other_instance: list[subprocess.Popen[str]]
) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    async with session_scope() as session:
        original = await assets.get_asset(session, owner_id=user_id, asset_id=photo)
    view = await _slow_job(user_id, photo, "k")
    assert await usage_count(user_id) == 1

    worker = _start_instance(view.id, other_instance)
    # Leave a half-written temporary file behind, as a crash in the middle of a write would.
    partial = get_settings().media_dir / "ab" / "cd" / ".tmp-crash.part"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half")
    old = time.time() - PARTIAL_FILE_GRACE_S - 60  # abandoned long enough for the sweep to take it
    os.utime(partial, (old, old))
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert (await _status(user_id, view.id)).status == "running"

    instance = runner.Runner()  # another instance (or the restart): it recovers the job once the lease expires
    await instance.start()
    try:
        after = await jobs.wait_for(view.id, user_id=user_id, timeout=60)
        async with session_scope() as session:
            data = await assets.read_bytes(original)
    finally:
        await instance.stop()
    assert after.status == "failed"
    assert after.credit_state == "refunded"
    assert after.error is not None and "worker running this edit stopped" in after.error and "refunded" in after.error
    assert after.retryable is True  # a crash or a restart: trying again can work
    assert await usage_count(user_id) == 0
    assert hashlib.sha256(data).hexdigest() == original.sha256
    assert not list(get_settings().media_dir.rglob("*.part"))


@pytest.mark.postgres
async def test_restarting_one_instance_leaves_the_others_running_job_alone(
    use_postgres: str, other_instance: list[subprocess.Popen[str]]
) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    view = await _slow_job(user_id, photo, "other")
    other = _start_instance(view.id, other_instance)  # instance B runs the job

    # Instance A (this process) starts, runs for several lease periods and restarts: its recovery
    # passes see B's job with a live lease every time.
    for _restart in range(2):
        instance = runner.Runner()
        await instance.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.5 * LEASE_S
        while loop.time() < deadline:
            assert (await _status(user_id, view.id)).status == "running"
            await asyncio.sleep(0.2)
        await instance.stop()
    async with session_scope() as session:
        row = await session.get(Job, view.id)
        assert row is not None and row.worker_id is not None and ":web:" in row.worker_id
        assert row.worker_id.split(":")[2] == str(other.pid)
    assert (await _status(user_id, view.id)).status == "running"
    assert await usage_count(user_id) == 1

    other.send_signal(signal.SIGTERM)  # B stops cleanly: it ends its own job (stopped, refunded)
    assert other.wait(timeout=60) == 0
    final = await _status(user_id, view.id)
    assert final.status in ("cancelled", "failed") and final.credit_state == "refunded"
    assert await usage_count(user_id) == 0
