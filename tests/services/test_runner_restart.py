"""A stop that comes while start-up still runs, and a runner left on a closed event loop: neither may
leave the process with a job runner that dispatches nothing (a queued job would wait forever)."""

from __future__ import annotations

import asyncio

import pytest

from db.session import dispose_engine, session_scope
from pixora_ui import lifecycle
from pixora_ui.services import jobs
from pixora_ui.workers import runner
from tests.services.conftest import make_user, upload_photo

pytestmark = pytest.mark.usefixtures("test_registry")


async def test_a_stop_during_start_up_leaves_no_runner_behind() -> None:
    starting = asyncio.create_task(lifecycle.startup())
    await asyncio.sleep(0)  # start-up has begun (it migrates and warms the registry in threads)
    await lifecycle.shutdown()
    assert starting.done()
    assert runner.get_runner() is None


def test_a_runner_from_a_closed_loop_is_replaced() -> None:
    async def first_server() -> None:
        await runner.start()  # never stopped: its loop closes under it

    async def second_server() -> str:
        await dispose_engine()  # the first loop's connections went with it
        user_id = await make_user(limit=5)
        photo = await upload_photo(user_id)
        async with session_scope() as session:
            view = await jobs.submit(session, user_id=user_id, asset_id=photo, tool="t-invert")
        await runner.start()
        try:
            done = await jobs.wait_for(view.id, user_id=user_id, timeout=60)
        finally:
            await runner.stop()
            await dispose_engine()
        return done.status

    asyncio.run(first_server())
    stale = runner.get_runner()
    assert stale is not None
    assert asyncio.run(second_server()) == "succeeded"
    assert runner.get_runner() is None
