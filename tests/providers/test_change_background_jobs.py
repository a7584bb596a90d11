"""Change background's described mode with the real tool declaration, end to end: jobs.submit →
runner → provider (real SDK, fake service). 'Run with ImageKit' used to fail every time with
"Describe the new background" because the palette had no field to describe it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from db.session import session_scope
from pixora_ui.services import jobs
from pixora_ui.services.jobs import JobView
from pixora_ui.workers import runner as job_runner
from tests.fakes.gemini_fake import GeminiFake
from tests.fakes.imagekit_fake import ImageKitFake
from tests.pages.test_no_operator_jargon import jargon_in
from tests.providers.helpers import photo
from tests.services.conftest import jpeg_bytes, make_user, upload_photo, usage_count

DESCRIBED = {"background": "generative", "prompt": "a sunny beach"}


@pytest.fixture
async def runner() -> AsyncIterator[None]:
    await job_runner.start()
    yield
    await job_runner.stop()


async def _run(email: str, params: dict[str, Any], provider: str | None) -> tuple[int, JobView]:
    user_id = await make_user(email, limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    async with session_scope() as session:
        view = await jobs.submit(
            session, user_id=user_id, asset_id=asset_id, tool="change-bg", params=params, provider=provider
        )
    return user_id, await jobs.wait_for(view.id, user_id=user_id, timeout=120)  # a bound, not a pace


async def test_imagekit_changes_a_described_background(imagekit: ImageKitFake, runner: None) -> None:
    user_id, done = await _run("ik@example.com", DESCRIBED, "imagekit")
    assert done.status == "succeeded", done.error
    assert done.provider == "imagekit" and await usage_count(user_id) == 1
    assert any(d[0].startswith("e-changebg-prompte-") for d in imagekit.deliveries)


async def test_a_described_background_goes_to_gemini_without_being_asked(gemini: GeminiFake, runner: None) -> None:
    _user_id, done = await _run("gm@example.com", DESCRIBED, None)
    assert done.status == "succeeded", done.error
    assert done.provider == "gemini"
    assert "a sunny beach" in gemini.requests[0]["body"]["contents"][0]["parts"][0]["text"]


async def test_without_a_generative_service_the_user_is_told_what_to_do_instead(runner: None) -> None:
    user_id, done = await _run("local@example.com", DESCRIBED, None)
    assert done.status == "failed" and done.error is not None
    assert "none is connected to this server" in done.error
    assert "colour, a gradient, a blur" in done.error and not jargon_in(done.error)
    assert done.credit_state == "refunded" and await usage_count(user_id) == 0
