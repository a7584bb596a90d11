"""Fixtures for the public API tests: the app (NiceGUI's simulated run of main.py) served on a real
local port by uvicorn in the test's own event loop, so jobs, the runner and HTTP share one loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from nicegui import core
from nicegui.testing import User

from db.session import session_scope
from pixora_ui.api import keys
from pixora_ui.engine.tools.cutout import REMOVE_BG
from pixora_ui.engine.tools.registry import ImageArray, Tool, ToolRegistry, ToolResult
from pixora_ui.providers import router
from pixora_ui.storage.factory import reset_storage
from tests.services.conftest import build_test_registry, installed_registry


def _fake_cutout(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    """Keeps a centred box: the remove.bg tests can check sizes and the foreground box exactly."""
    progress(0.5, "Removing background…")
    h, w = image.shape[:2]
    rgba = np.dstack([image[:, :, :3], np.zeros((h, w), np.uint8)])
    rgba[h // 4 : h * 3 // 4, w // 4 : w * 3 // 4, 3] = 255
    return ToolResult(image=rgba, format_hint="png")


def build_api_registry() -> ToolRegistry:
    """The jobs tests' tools plus a fast `remove-bg` with the real tool's parameters."""
    registry = build_test_registry()
    registry.add(
        Tool(
            name="remove-bg",
            label=REMOVE_BG.label,
            group="cutout",
            description=REMOVE_BG.description,
            run=_fake_cutout,
            params=REMOVE_BG.params,
        )
    )
    return registry


@pytest.fixture
def api_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    yield from installed_registry(monkeypatch, build_api_registry())


@asynccontextmanager
async def serving() -> AsyncIterator[str]:
    """The app that NiceGUI's `user` fixture built, at http://127.0.0.1:PORT: real sockets, served by
    uvicorn in the test's own event loop (so jobs, the runner and HTTP share one loop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(core.app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@pytest.fixture
async def api_url(user: User, api_registry: ToolRegistry) -> AsyncIterator[str]:
    """The app with the fast test tools."""
    async with serving() as url:
        yield url


@pytest.fixture
async def real_api_url(user: User) -> AsyncIterator[str]:
    """The app with the real engine's tools (the installed model weights)."""
    router.reset_providers()
    reset_storage()
    async with serving() as url:
        yield url


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        yield client


async def new_key(user_id: int, name: str = "script") -> str:
    async with session_scope() as session:
        created = await keys.create_key(session, user_id=user_id, name=name)
    return created.secret


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
