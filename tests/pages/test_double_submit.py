"""A double apply (keyboard repeat, double press) of the same edit starts one job and costs one credit."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from nicegui.testing import User
from sqlalchemy import func, select

from db.models import Job
from db.session import session_scope
from pixora_ui.engine.tools.registry import Tool, ToolRegistry, ToolResult
from tests.pages.test_studio_page import _open, _studio_with_photo


async def _job_count(user_id: int) -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(Job.user_id == user_id)) or 0)


async def test_double_apply_starts_one_job_and_spends_one_credit(user: User, studio_registry: ToolRegistry) -> None:
    release = threading.Event()

    def held(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
        release.wait(20)  # keeps the job running while the test presses apply again
        return ToolResult(image=255 - image)

    studio_registry.add(Tool(name="held", label="Held", group="cutout", description="test", run=held))
    try:
        user_id = await _studio_with_photo(user)
        _open(user, "held")
        user.find(marker="apply-held").click()
        user.find(marker="apply-held").click()
        for _ in range(100):
            if await _job_count(user_id) >= 1:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert await _job_count(user_id) == 1
        # The same edit again a moment later, once the first submit has returned: same key, same job.
        user.find(marker="apply-held").click()
        await asyncio.sleep(0.5)
        assert await _job_count(user_id) == 1
    finally:
        release.set()
    await user.should_see(marker="version-1", retries=80)
    await user.should_see("2 of 3 free edits left", retries=20)
    assert await _job_count(user_id) == 1
