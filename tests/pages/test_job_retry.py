"""The job panel offers "Try again" only where trying again can work (issue 18, item 3): a passing
failure (a busy service) gets the button, one that would fail the same way gets what to do instead."""

from __future__ import annotations

import threading
from typing import Any

from nicegui.testing import User

from components.job_panel import CHANGE_HINT
from pixora_ui.engine.tools.registry import Tool, ToolRegistry, ToolResult, TransientToolError
from tests.pages.test_studio_page import _apply, _studio_with_photo


async def test_a_failure_that_would_repeat_offers_no_try_again(user: User, studio_registry: ToolRegistry) -> None:
    await _studio_with_photo(user)
    _apply(user, "upscale")  # the test tool's own ToolError: the same edit fails the same way
    await user.should_see("The test tool failed on purpose.", retries=80)
    await user.should_see(CHANGE_HINT)
    await user.should_not_see(marker="job-retry")


async def test_a_passing_failure_offers_try_again_and_it_works(user: User, studio_registry: ToolRegistry) -> None:
    busy = threading.Event()
    busy.set()

    def flaky(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
        if busy.is_set():
            raise TransientToolError("The test service is busy. Try again in a minute.")
        return ToolResult(image=255 - image)

    studio_registry.add(Tool(name="flaky", label="Flaky", group="enhance", description="test", run=flaky))
    await _studio_with_photo(user)
    _apply(user, "flaky")
    await user.should_see("The test service is busy. Try again in a minute.", retries=80)
    await user.should_see(marker="job-retry")
    await user.should_not_see(CHANGE_HINT)
    busy.clear()
    user.find(marker="job-retry").click()
    await user.should_see(marker="version-1", retries=80)
