"""Crash safety: kill the process running a job, restart, and nothing is stuck, lost or charged."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from db.session import session_scope
from pixora_ui.services import assets, jobs, runner
from pixora_ui.settings import get_settings
from pixora_ui.storage.local import PARTIAL_FILE_GRACE_S
from tests.jobs.conftest import make_user, upload_photo, usage_count

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("test_registry")


async def test_killed_runner_recovers_with_refund(any_db: str) -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    async with session_scope() as session:
        original = await assets.get_asset(session, owner_id=user_id, asset_id=photo)
        view = await jobs.submit(
            session, user_id=user_id, asset_id=photo, tool="t-slow", params={"seconds": 60}, idempotency_key="k"
        )
    assert await usage_count(user_id) == 1

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
    env["PYTHONPATH"] = str(REPO)
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.crash_worker", view.id],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "RUNNING"
        # Leave a half-written temporary file behind, as a crash in the middle of a write would.
        partial = get_settings().media_dir / "ab" / "cd" / ".tmp-crash.part"
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(b"half")
        # Old enough that the sweep may judge it abandoned (no live write holds its lock either).
        stale = time.time() - PARTIAL_FILE_GRACE_S - 60
        os.utime(partial, (stale, stale))
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    async with session_scope() as session:
        assert (await jobs.get_job(session, user_id=user_id, job_id=view.id)).status == "running"

    await runner.start()  # the restart
    try:
        async with session_scope() as session:
            after = await jobs.get_job(session, user_id=user_id, job_id=view.id)
            data = await assets.read_bytes(original)
    finally:
        await runner.stop()
    assert after.status == "failed"
    assert after.credit_state == "refunded"
    assert after.error is not None and "restarted" in after.error and "refunded" in after.error
    assert await usage_count(user_id) == 0
    assert hashlib.sha256(data).hexdigest() == original.sha256
    assert not list(get_settings().media_dir.rglob("*.part"))
