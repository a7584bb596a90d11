"""Open pages learn about plan and usage changes made elsewhere (issue #18, item 6).

The billing webhook, `main.py admin set-plan` and credits spent by another tab or the API change the
user row; the commit announces it (`services.user_events`), in this process and, over Redis, from
another process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from nicegui.testing import User

from db.models import User as UserRow
from db.session import session_scope
from pixora_ui.services import user_events
from pixora_ui.services.event_bus import EventBus
from pixora_ui.services.plans import apply_plan
from pixora_ui.services.usage import reserve_credit
from pixora_ui.settings import get_settings, reset_settings
from tests.pages.conftest import make_user, sign_in

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("PIXORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _studio(user: User) -> int:
    user_id = await make_user()
    await sign_in(user)
    await user.should_see("Start with a photo", retries=100)
    await user.should_see("3 of 3 free edits left")
    return user_id


async def test_an_upgrade_reaches_the_open_studio(user: User) -> None:
    user_id = await _studio(user)
    async with session_scope() as session:  # what the billing webhook does on a paid subscription
        row = await session.get(UserRow, user_id)
        assert row is not None
        apply_plan(row, "pro", get_settings())
    await user.should_see("Pro · unlimited", retries=50)
    await user.should_not_see("3 of 3 free edits left")


async def test_credits_spent_elsewhere_reach_the_open_studio(user: User) -> None:
    user_id = await _studio(user)
    async with session_scope() as session:  # another tab or an API key spends a credit
        assert await reserve_credit(session, user_id=user_id)
    await user.should_see("2 of 3 free edits left", retries=50)


async def test_a_rolled_back_change_is_not_announced() -> None:
    user_id = await make_user()
    heard: list[int] = []
    unsubscribe = user_events.subscribe(user_id, heard.append)
    try:
        with pytest.raises(RuntimeError):
            async with session_scope() as session:
                row = await session.get(UserRow, user_id)
                assert row is not None
                apply_plan(row, "pro", get_settings())
                await session.flush()
                raise RuntimeError("the webhook failed half-way")
        assert heard == []
        async with session_scope() as session:
            row = await session.get(UserRow, user_id)
            assert row is not None
            apply_plan(row, "pro", get_settings())
        assert heard == [user_id]
    finally:
        unsubscribe()


def _redis_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    finally:
        client.close()


async def test_admin_set_plan_in_another_process_reaches_this_one(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    """`main.py admin set-plan` runs as its own process: its event travels over the Redis bus."""
    _redis_or_skip()
    prefix = f"pixora-test-{uuid.uuid4().hex[:10]}-"
    monkeypatch.setenv("EVENTS_URL", REDIS_URL)
    monkeypatch.setenv("QUEUE_PREFIX", prefix)
    reset_settings()
    user_id = await make_user("cli@example.com")
    heard: asyncio.Queue[int] = asyncio.Queue()
    unsubscribe = user_events.subscribe(user_id, heard.put_nowait)
    bus = EventBus(get_settings())
    await bus.start()
    try:
        await asyncio.wait_for(bus.subscribed.wait(), 10)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
        command = [sys.executable, str(REPO / "main.py"), "admin", "set-plan", "cli@example.com", "pro"]
        done = await asyncio.to_thread(subprocess.run, command, cwd=REPO, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        assert await asyncio.wait_for(heard.get(), 10) == user_id
    finally:
        unsubscribe()
        await bus.stop()
