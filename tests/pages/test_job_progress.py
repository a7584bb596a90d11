"""The job panel while a tool runs: the tool's step, the percentage and one estimate (issue #18, item 2)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from nicegui.testing import User

from pixora_ui.engine.tools.registry import Tool, ToolRegistry, ToolResult
from tests.pages.test_studio_page import _open, _studio_with_photo


async def test_a_running_job_shows_one_estimate_of_its_own(user: User, studio_registry: ToolRegistry) -> None:
    release = threading.Event()

    def slow(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
        progress(0.05, "Upscaling: tile 1 of 2, about 1 s left")  # a quick first step, then a long one
        release.wait(30)
        return ToolResult(image=255 - image)

    studio_registry.add(Tool(name="slow", label="Slow", group="enhance", description="test", run=slow))
    try:
        await _studio_with_photo(user)
        _open(user, "slow")
        user.find(marker="apply-slow").click()
        await user.should_see("Upscaling: tile 1 of 2", retries=100)
        text = await _detail_when(user, lambda t: "left" in t)  # once the job has run for two seconds
        assert text.startswith("Upscaling: tile 1 of 2 · 5% · about "), text
        assert text.count("left") == 1 and "almost done" not in text and " 1 s left" not in text, text
        # No progress since: the estimate grows (5 % in a few seconds is minutes of work), never "almost done".
        text = await _detail_when(user, lambda t: "min left" in t)
        assert text.count("left") == 1 and "almost done" not in text, text
    finally:
        release.set()
    await user.should_see(marker="version-1", retries=80)


async def _detail_when(user: User, wanted: Callable[[str], bool]) -> str:
    text = ""
    for _ in range(300):
        text = user.find(marker="job-detail").elements.pop().text
        if wanted(text):
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job panel still says {text!r}")
