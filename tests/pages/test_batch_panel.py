"""The batch panel with NiceGUI's simulated user: failures say why and give the edit back, retry
runs the failed photos that trying again can fix (and says how many), the eraser is refused for a
selection, and a stream of job events is drawn at most 4 times a second without re-listing the
library."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from components.batch_panel import UPDATES_PER_S, BatchPanel
from components.library_panel import LibraryPanel
from pixora_ui.engine.tools.registry import Tool, ToolError, ToolRegistry, ToolResult, TransientToolError
from pixora_ui.services import batch_studio, job_events
from tests.pages.conftest import make_user, sample_png, sign_in
from tests.pages.test_studio_page import _open


async def _studio_with_photos(user: User) -> int:
    """Two photos: astronaut (256 px, the newest, shown first) and camera (128 px)."""
    user_id = await make_user()
    await sign_in(user)
    await user.should_see(marker="studio")
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([ui.upload.SmallFileUpload("camera.png", "image/png", sample_png("camera", 128))])
    await user.should_see(marker="photo-0", retries=50)
    await upload.handle_uploads([ui.upload.SmallFileUpload("astronaut.png", "image/png", sample_png(size=256))])
    await user.should_see(marker="photo-1", retries=50)
    return user_id


def _select_all(user: User) -> None:
    user.find(marker="select-toggle").click()
    user.find(marker="select-all").click()


async def _start(user: User, tool: str) -> None:
    _open(user, tool)
    user.find(marker=f"apply-{tool}").click()
    await user.should_see(marker="batch-start", retries=50)
    user.find(marker="batch-start").click()
    await user.should_see(marker="batch-item-1", retries=50)


def _summary(user: User) -> str:
    label = user.find(marker="batch-summary").elements.pop()
    assert isinstance(label, ui.label)
    return str(label.text)


def _retry_text(user: User) -> str:
    button = user.find(marker="batch-retry").elements.pop()
    assert isinstance(button, ui.button)
    return str(button.text)


async def test_a_failed_photo_says_why_gives_its_edit_back_and_runs_again(
    user: User, studio_registry: ToolRegistry
) -> None:
    strict = threading.Event()
    strict.set()

    def picky(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
        if strict.is_set() and image.shape[1] < 200:
            raise TransientToolError("The test service is busy. Try again in a minute.")
        return ToolResult(image=255 - image)

    studio_registry.add(Tool(name="picky", label="Picky", group="cutout", description="test", run=picky))
    await _studio_with_photos(user)
    _select_all(user)
    await user.should_see("Tools apply to 2 photos")
    await _start(user, "picky")
    await user.should_see("1 photo edited · 1 failed. 1 AI edit given back.", retries=100)
    await user.should_see("camera.png: The test service is busy. Try again in a minute.")
    camera = user.find(marker="batch-item-1").elements.pop()
    assert camera.props["data-status"] == "failed"
    assert (
        camera.props["title"]
        == "camera.png: The test service is busy. Try again in a minute. Your credit was refunded."
    )
    await user.should_see("2 of 3 free edits left", retries=20)
    await user.should_see(marker="batch-retry")
    assert _retry_text(user) == "Retry 1 failed"
    strict.clear()
    user.find(marker="batch-retry").click()
    await user.should_see("2 photos edited", retries=100)
    assert _summary(user) == "2 photos edited"  # the refunded attempt was replaced by the retry
    await user.should_see("1 of 3 free edits left", retries=20)
    await user.should_not_see(marker="batch-retry")


async def test_retry_failed_leaves_out_photos_that_would_fail_the_same_way(
    user: User, studio_registry: ToolRegistry
) -> None:
    busy = threading.Event()
    busy.set()

    def strict(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
        if image.shape[1] < 200:  # camera.png, every time
            raise ToolError("This photo is too small for the test tool.")
        if busy.is_set():  # astronaut.png, until the service is back
            raise TransientToolError("The test service is busy. Try again in a minute.")
        return ToolResult(image=255 - image)

    studio_registry.add(Tool(name="strict", label="Strict", group="cutout", description="test", run=strict))
    user_id = await _studio_with_photos(user)
    _select_all(user)
    await _start(user, "strict")
    await user.should_see("0 photos edited · 2 failed. 2 AI edits given back.", retries=100)
    await user.should_see("camera.png: This photo is too small for the test tool.")
    await user.should_see(marker="batch-retry")
    assert _retry_text(user) == "Retry 1 failed"  # the busy one only
    busy.clear()
    user.find(marker="batch-retry").click()
    await user.should_see("1 photo edited · 1 failed. 1 AI edit given back.", retries=100)
    await user.should_not_see(marker="batch-retry")  # what is left would fail the same way
    batch = (await batch_studio.recent_batches(user_id, limit=1))[0]
    attempts = {item.photo_name: item.attempts for item in batch.items}
    assert attempts == {"astronaut.png": 2, "camera.png": 1}


async def test_the_eraser_is_not_offered_for_a_selection(user: User, studio_registry: ToolRegistry) -> None:
    user_id = await _studio_with_photos(user)
    _select_all(user)
    await user.should_see("Magic erase needs a mask painted on one photo, so it works on the open photo only.")
    _open(user, "erase")
    user.find(marker="apply-erase").click()
    await user.should_see("Magic erase needs a mask painted on one photo. Clear the selection to use it.")
    await user.should_not_see(marker="batch-start")  # never asked: nothing to confirm
    assert await batch_studio.recent_batches(user_id) == []


async def test_a_stream_of_events_is_drawn_at_most_four_times_a_second(
    user: User, studio_registry: ToolRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def held(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
        release.wait(30)  # the jobs stay running while the test sends progress events
        return ToolResult(image=255 - image)

    studio_registry.add(Tool(name="held", label="Held", group="cutout", description="test", run=held))
    user_id = await _studio_with_photos(user)
    draws: list[float] = []
    listings: list[float] = []
    draw, show = BatchPanel._draw, LibraryPanel.show

    def counted_draw(panel: BatchPanel) -> None:
        draws.append(time.monotonic())
        draw(panel)

    def counted_show(library: LibraryPanel, photos: Any) -> None:
        listings.append(time.monotonic())
        show(library, photos)

    monkeypatch.setattr(BatchPanel, "_draw", counted_draw)
    monkeypatch.setattr(LibraryPanel, "show", counted_show)
    try:
        _select_all(user)
        await _start(user, "held")
        batch = (await batch_studio.recent_batches(user_id, limit=1))[0]
        job = batch.items[0].job
        await asyncio.sleep(0.5)
        draws.clear()
        listings.clear()
        started = time.monotonic()
        for step in range(1, 201):  # 200 progress events in about a second
            job_events.publish(dataclasses.replace(job, status="running", progress=step / 200, message="Working…"))
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.6)
        elapsed = time.monotonic() - started
        assert 1 <= len(draws) <= UPDATES_PER_S * elapsed + 1, (len(draws), elapsed)
        assert listings == []  # the library is not re-listed per event
        tile = user.find(marker="batch-item-0").elements.pop()
        assert tile.props["data-status"] == "running"
        bar = tile.default_slot.children[-1]
        assert bar.style["width"] == "100%"  # the last event is the one on screen
        # A reload while the batch runs shows it again, from the same events.
        await user.open("/studio")
        await user.should_see(marker="batch-item-1", retries=50)
        await user.should_see("0 of 2 done")
    finally:
        release.set()
    await user.should_see("2 photos edited", retries=100)
