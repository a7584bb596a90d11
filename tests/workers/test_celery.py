"""Scale-out on Celery + Redis: two `main.py worker` processes share 20 jobs; one is killed -9
mid-job; nothing is lost, stuck, charged twice or completed twice, and the queue drains."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kombu import Connection
from sqlalchemy import func, select

from db.models import Asset, Job
from db.session import session_scope
from pixora_ui.services import jobs
from pixora_ui.services.job_views import JobView
from pixora_ui.settings import reset_settings
from pixora_ui.workers import runner
from tests.services.conftest import make_user, upload_photo, usage_count

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("PIXORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JOBS = 20

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("worker_tools")]


@pytest.fixture
def celery_env(use_postgres: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Celery on Redis with queue names and an event channel of this test run only."""
    prefix = f"pixora-test-{uuid.uuid4().hex[:10]}-"
    monkeypatch.setenv("QUEUE_URL", REDIS_URL)
    monkeypatch.setenv("QUEUE_PREFIX", prefix)
    monkeypatch.setenv("JOB_LEASE_S", "2")
    monkeypatch.setenv("ENGINE_TOOL_REGISTRY", "tests.workers.tools:build_registry")
    monkeypatch.setenv("WORKER_WARM_MODELS", "false")
    reset_settings()
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def workers(celery_env: str, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
    env["PYTHONPATH"] = str(REPO)
    env["LOG_LEVEL"] = "INFO"
    for index in range(2):
        log = (tmp_path / f"worker{index}.log").open("wb")
        started.append(
            subprocess.Popen(
                [sys.executable, str(REPO / "main.py"), "worker", "--queues", "cpu", "--name", f"w{index}@test"],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def _all_final(user_id: int, ids: list[str], timeout: float) -> list[JobView]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with session_scope() as session:
            views = [await jobs.get_job(session, user_id=user_id, job_id=job_id) for job_id in ids]
        if all(view.done for view in views) or loop.time() > deadline:
            return views
        await asyncio.sleep(0.2)


async def _running_on(pid: int, timeout: float = 120) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with session_scope() as session:
            held = (
                await session.scalars(
                    select(Job.id).where(Job.status == "running", Job.worker_id.like(f"%:celery:{pid}:%"))
                )
            ).first()
        if held is not None:
            return held
        await asyncio.sleep(0.05)
    raise AssertionError(f"worker {pid} never ran a job")


async def test_two_workers_share_the_jobs_and_a_killed_one_loses_nothing(
    workers: list[subprocess.Popen[bytes]], celery_env: str
) -> None:
    user_id = await make_user(limit=JOBS + 5)
    photo = await upload_photo(user_id)
    web = runner.Runner()  # the web process in Celery mode: sends jobs, recovers leases, relays events
    await web.start()
    progress_seen: list[JobView] = []
    unsubscribe = jobs.subscribe(user_id, lambda view: progress_seen.append(view) if view.progress > 0 else None)
    try:
        ids = []
        for index in range(JOBS):
            async with session_scope() as session:
                view = await jobs.submit(
                    session,
                    user_id=user_id,
                    asset_id=photo,
                    tool="t-slow",
                    params={"seconds": 1.0},
                    idempotency_key=f"j{index}",
                )
            ids.append(view.id)
        assert await usage_count(user_id) == JOBS

        victim = workers[0]
        killed_job = await _running_on(victim.pid)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)

        views = await _all_final(user_id, ids, timeout=180)
    finally:
        unsubscribe()
        await web.stop()

    by_status = {status: [v for v in views if v.status == status] for status in {v.status for v in views}}
    assert not [v for v in views if not v.done], "no job may stay queued or running"
    failed = by_status.get("failed", [])
    succeeded = by_status.get("succeeded", [])
    assert [v.id for v in failed] == [killed_job]
    assert failed[0].error is not None and "worker running this edit stopped" in failed[0].error
    assert failed[0].credit_state == "refunded"
    assert len(succeeded) == JOBS - 1
    # Charged exactly once per kept result, and each job completed exactly once.
    assert await usage_count(user_id) == len(succeeded)
    async with session_scope() as session:
        results = await session.scalar(select(func.count()).select_from(Asset).where(Asset.parent_id == photo))
        workers_used = set((await session.scalars(select(Job.worker_id).where(Job.id.in_(ids)))).all())
    assert results == len(succeeded)
    pids = {worker_id.split(":")[2] for worker_id in workers_used if worker_id}
    assert pids == {str(workers[0].pid), str(workers[1].pid)}, "the jobs should be spread over both workers"
    # Progress from the worker processes reached this (web) process over Redis pub/sub.
    assert progress_seen
    # The queue drained: nothing is left waiting in Redis.
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.llen(f"{celery_env}cpu") == 0
    finally:
        client.close()


RABBIT_URL = os.environ.get("PIXORA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


async def test_rabbitmq_broker_with_redis_events_runs_jobs(
    celery_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """QUEUE_URL=amqp://: the same worker and web code on RabbitMQ; events still travel over Redis."""
    monkeypatch.setenv("QUEUE_URL", RABBIT_URL)
    monkeypatch.setenv("EVENTS_URL", REDIS_URL)
    reset_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
    env["PYTHONPATH"] = str(REPO)
    with (tmp_path / "rabbit-worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, str(REPO / "main.py"), "worker", "--queues", "cpu"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    user_id = await make_user(limit=5)
    photo = await upload_photo(user_id)
    web = runner.Runner()
    await web.start()
    seen: list[JobView] = []
    unsubscribe = jobs.subscribe(user_id, seen.append)
    try:
        ids = []
        for index in range(3):
            async with session_scope() as session:
                view = await jobs.submit(
                    session,
                    user_id=user_id,
                    asset_id=photo,
                    tool="t-slow",
                    params={"seconds": 0.3},
                    idempotency_key=f"r{index}",
                )
            ids.append(view.id)
        views = await _all_final(user_id, ids, timeout=180)
    finally:
        unsubscribe()
        await web.stop()
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        _delete_rabbit_queues(celery_env)
    assert [v.status for v in views] == ["succeeded"] * 3, (tmp_path / "rabbit-worker.log").read_text(errors="replace")
    assert await usage_count(user_id) == 3
    assert {v.id for v in seen if v.status == "succeeded"} == set(ids)  # completion reached this process


def _delete_rabbit_queues(prefix: str) -> None:
    with Connection(RABBIT_URL) as connection:
        for kind in ("cpu", "gpu", "remote"):
            channel = connection.channel()  # a missing queue closes the channel: one per queue
            with contextlib.suppress(Exception):
                channel.queue_delete(f"{prefix}{kind}")
            with contextlib.suppress(Exception):
                channel.close()
