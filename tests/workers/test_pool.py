"""Engine worker processes: a crash, a memory hog or a slow cancel never takes the web process down."""

from __future__ import annotations

import asyncio
import time

import pytest
from nicegui.testing import User

from pixora_ui.services import jobs, studio
from pixora_ui.settings import reset_settings
from tests.services.conftest import make_user, upload_photo, usage_count
from tests.workers.conftest import ready_pool

pytestmark = pytest.mark.usefixtures("engine_workers", "worker_tools")


class HealthProbe:
    """Asks /healthz every 50 ms while a test runs; records status codes and the slowest answer."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.codes: list[int] = []
        self.slowest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        while True:
            started = time.monotonic()
            response = await self.user.http_client.get("/healthz")
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.codes.append(response.status_code)
            await asyncio.sleep(0.05)

    def __enter__(self) -> HealthProbe:
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _replaced(old_pids: set[int], timeout: float = 120) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        pool = await ready_pool()
        alive = {w["pid"] for w in pool.status() if w["lane"] == "local" and w["alive"] and w["ready"]}
        if len(alive) == len(old_pids) and not alive & old_pids:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the crashed worker was not replaced")


async def test_a_crashing_tool_fails_its_job_with_a_refund_and_the_next_job_runs(user: User) -> None:
    await user.open("/")
    user_id = await make_user()
    photo = await upload_photo(user_id)
    pool = await ready_pool()
    local_before = {w["pid"] for w in pool.status() if w["lane"] == "local"}

    with HealthProbe(user) as probe:
        crashed = await studio.submit_edit(user_id, asset_id=photo, tool="t-abort", params={})
        assert await usage_count(user_id) == 1
        done = await jobs.wait_for(crashed.id, user_id=user_id, timeout=60)
        assert done.status == "failed"
        assert done.error is not None and "engine crashed" in done.error and "aborted" in done.error
        assert "refunded" in done.error and done.credit_state == "refunded"
        assert done.retryable is True  # the worker crashed, not the request
        assert await usage_count(user_id) == 0

        await _replaced(local_before)
        following = await studio.submit_edit(user_id, asset_id=photo, tool="t-invert", params={})
        ok = await jobs.wait_for(following.id, user_id=user_id, timeout=60)
        assert ok.status == "succeeded" and ok.result_asset_id is not None
    assert len(probe.codes) >= 5 and set(probe.codes) == {200}
    assert probe.slowest < 5.0


async def test_a_worker_over_its_memory_cap_is_killed_and_its_job_refunded(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("WORKER_MEMORY_MB", "600")
    reset_settings()
    await user.open("/")
    user_id = await make_user()
    photo = await upload_photo(user_id)
    await ready_pool()
    view = await studio.submit_edit(user_id, asset_id=photo, tool="t-hog", params={})
    done = await jobs.wait_for(view.id, user_id=user_id, timeout=120)
    assert done.status == "failed" and done.credit_state == "refunded"
    assert done.error is not None and "more than 600 MB" in done.error
    assert done.retryable is False  # the same photo would need the same memory again
    response = await user.http_client.get("/healthz")
    assert response.status_code == 200
