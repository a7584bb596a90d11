"""Model warm-up: the server loads its models in the background while /healthz already answers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nicegui.server import Server
from nicegui.testing import User

from pixora_ui import lifecycle
from pixora_ui.engine.models import faces, isnet, warmup
from pixora_ui.settings import reset_settings
from tests.engine.conftest import needs_faces, needs_isnet


@pytest.fixture
def blocked_warm_up(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The server's warm-up switched on, with one fake model that loads only when the test says so."""
    release = threading.Event()
    seen: dict[str, Any] = {"release": release}

    def fake_model() -> bool:
        seen["thread"] = threading.current_thread().name
        return release.wait(timeout=120)

    monkeypatch.setenv("WARM_UP_MODELS", "true")
    reset_settings()
    monkeypatch.setattr(warmup, "WARM_UPS", {"fake-model": fake_model})
    warmup.reset_state()
    yield seen
    release.set()
    warmup.reset_state()


async def health(user: User) -> dict[str, Any]:
    response = await user.http_client.get("/healthz")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def wait_for_state(user: User, state: str) -> dict[str, Any]:
    for _ in range(3000):  # up to a minute on a busy machine; returns as soon as it holds
        body = await health(user)
        if body["warm_up"]["state"] == state:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"warm-up never reached {state!r}: {body['warm_up']}")


async def test_healthz_answers_while_the_models_warm_up_in_the_engine_thread(
    blocked_warm_up: dict[str, Any], user: User
) -> None:
    body = await wait_for_state(user, "running")  # the warm-up is blocked, the server answers anyway
    assert body["status"] == "ok"
    assert body["warm_up"]["models"] == {}
    assert blocked_warm_up["thread"].startswith("pixora-engine")  # not the event loop
    blocked_warm_up["release"].set()
    body = await wait_for_state(user, "ready")
    assert body["warm_up"]["models"] == {"fake-model": "ready"}
    assert body["warm_up"]["seconds"] > 0


async def test_warm_up_is_off_when_switched_off(user: User) -> None:
    body = await health(user)
    assert body["warm_up"] == {"state": "off", "models": {}, "seconds": None}


def test_a_model_that_is_missing_or_fails_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> bool:
        raise RuntimeError("corrupt weights")

    monkeypatch.setattr(warmup, "WARM_UPS", {"missing": lambda: False, "broken": broken, "fine": lambda: True})
    assert warmup.warm_up_models() == {"missing": "not installed", "broken": "failed", "fine": "ready"}
    assert warmup.warm_up_models(("fine",)) == {"fine": "ready"}


def test_without_weights_nothing_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "no-models"))
    reset_settings()
    assert warmup.warm_up_models() == {"isnet-medium": "not installed", "centerface": "not installed"}


@pytest.mark.models
@pytest.mark.slow
@needs_isnet
@needs_faces
def test_the_real_models_warm_up() -> None:
    isnet.clear_cache()
    assert warmup.warm_up_models() == {"isnet-medium": "ready", "centerface": "ready"}
    assert isnet._ISNET.loaded() and faces._SESSION.loaded()
    assert not isnet._cache  # the warm-up's own mask is not kept


async def test_the_warm_up_waits_until_the_server_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = threading.Event()

    def fake_model() -> bool:
        ran.set()
        return True

    monkeypatch.setattr(warmup, "WARM_UPS", {"fake-model": fake_model})
    warmup.reset_state()
    server = SimpleNamespace(started=False)
    monkeypatch.setattr(Server, "instance", server, raising=False)
    task = asyncio.create_task(lifecycle._warm_up_once_serving())
    try:
        for _ in range(20):  # the task polls the flag meanwhile
            await asyncio.sleep(0.06)
            assert warmup.warm_up_state().state == "off" and not task.done()
        server.started = True
        await asyncio.wait_for(task, 60)
        assert await asyncio.to_thread(ran.wait, 60)
    finally:
        task.cancel()
        warmup.reset_state()
