"""Fixtures for the batch tests: the jobs tests' tools plus `t-flaky`, a tool that fails on small
photos until a test lets it through (a passing failure: retryable) and always on tiny ones (not
retryable), so one batch can hold successes, failures to retry and failures that retrying cannot fix."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from db.session import session_scope
from pixora_ui.engine.tools.registry import (
    ImageArray,
    Tool,
    ToolError,
    ToolRegistry,
    ToolResult,
    TransientToolError,
)
from pixora_ui.services import batches, jobs
from pixora_ui.services.batches import BatchView
from pixora_ui.workers import runner
from tests.api.conftest import build_api_registry
from tests.services.conftest import installed_registry

SMALL_SIDE = 300  # photos narrower than this fail while the flaky tool is strict (retryable)
TINY_SIDE = 100  # photos narrower than this always fail: too small for the tool (not retryable)


class Flaky:
    """Whether `t-flaky` refuses small photos (set from the test, read by the in-process job)."""

    def __init__(self) -> None:
        self.strict = threading.Event()
        self.strict.set()


def _flaky_tool(flaky: Flaky) -> Tool:
    def run(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
        if image.shape[1] < TINY_SIDE:
            raise ToolError("This photo is too small for the test tool.")
        if flaky.strict.is_set() and image.shape[1] < SMALL_SIDE:
            raise TransientToolError("The test service is busy. Try again in a minute.")
        progress(0.5, "Working…")
        out = image.copy()
        out[:, :, :3] = 255 - out[:, :, :3]
        return ToolResult(image=out)

    return Tool(name="t-flaky", label="Flaky", group="adjust", description="test", run=run)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def batch_registry(monkeypatch: pytest.MonkeyPatch, flaky: Flaky) -> Iterator[ToolRegistry]:
    registry = build_api_registry()
    registry.add(_flaky_tool(flaky))
    yield from installed_registry(monkeypatch, registry)


@pytest.fixture
async def batch_runner(batch_registry: ToolRegistry) -> AsyncIterator[None]:
    await runner.start()
    yield
    await runner.stop()


async def submit(user_id: int, photo_ids: list[str], tool: str = "t-invert", **options: Any) -> BatchView:
    async with session_scope() as session:
        return await batches.submit(session, user_id=user_id, photo_ids=photo_ids, tool=tool, **options)


async def get(user_id: int, batch_id: str) -> BatchView:
    async with session_scope() as session:
        return await batches.get_batch(session, user_id=user_id, batch_id=batch_id)


async def finished(user_id: int, batch: BatchView, timeout: float = 60) -> BatchView:
    """The batch once every job is final: waits on each job's events (services.jobs.wait_for)."""
    for item in batch.items:
        await jobs.wait_for(item.job.id, user_id=user_id, timeout=timeout)
    return await get(user_id, batch.id)
