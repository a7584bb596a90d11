"""Fixtures for the engine worker tests: worker processes on, their tools, and a clean-up that
ends any worker process a failed test left behind."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixora_ui.engine.tools.registry import ToolRegistry
from pixora_ui.settings import reset_settings
from pixora_ui.workers import runner
from pixora_ui.workers.pool import WorkerPool
from tests.services.conftest import installed_registry
from tests.workers.tools import build_registry


def _engine_children() -> list[int]:
    """Engine worker processes whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"pixora_ui.workers.engine_process" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def engine_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One engine worker process (plus the remote lane's), test tools in it, models not preloaded."""
    monkeypatch.setenv("ENGINE_WORKERS", "1")
    monkeypatch.setenv("ENGINE_TOOL_REGISTRY", "tests.workers.tools:build_registry")
    monkeypatch.setenv("WORKER_WARM_MODELS", "false")
    reset_settings()
    yield
    for pid in _engine_children():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


@pytest.fixture
def worker_tools(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    """The same tools in this (the web) process, which validates submits against them."""
    yield from installed_registry(monkeypatch, build_registry())


async def ready_pool(timeout: float = 120) -> WorkerPool:
    """The running pool once every worker has loaded (start-up runs in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        current = runner.get_runner()
        if current is not None and current.pool is not None and await current.pool.wait_ready(0.1):
            return current.pool
        await asyncio.sleep(0.05)
    raise AssertionError("the engine workers did not start")
