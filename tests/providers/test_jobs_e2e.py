"""Jobs through each remote provider end to end: jobs.submit → runner → provider (real SDK, fake service)
→ result asset, with the credit kept on success and refunded on failure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest

from db.session import session_scope
from pixora_ui.engine.tools.registry import NeedsGenerativeProvider, Param, Tool, ToolRegistry, ToolResult
from pixora_ui.providers import router
from pixora_ui.services import assets, jobs
from pixora_ui.services.jobs import JobView
from pixora_ui.settings import reset_settings
from pixora_ui.workers import runner as job_runner
from tests.fakes.gemini_fake import GeminiFake
from tests.fakes.imagekit_fake import ImageKitFake
from tests.providers.helpers import photo
from tests.services.conftest import (
    build_test_registry,
    installed_registry,
    jpeg_bytes,
    make_user,
    upload_photo,
    usage_count,
)


def _local_needs_generation(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    raise NeedsGenerativeProvider("This edit needs a generative provider: set GEMINI_API_KEY or ImageKit keys.")


def _local_identity(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    return ToolResult(image=image)


def _registry() -> ToolRegistry:
    """D's test tools plus the real tool names the remote providers know, with stand-in local runs."""
    registry = build_test_registry()
    registry.add(
        Tool(
            name="remove-bg",
            label="Remove background",
            group="cutout",
            description="test",
            run=_local_identity,
            params=(Param(name="mode", label="Mode", kind="choice", default="standard", choices=("standard", "pro")),),
        )
    )
    registry.add(Tool(name="retouch", label="Retouch", group="enhance", description="test", run=_local_identity))
    registry.add(
        Tool(
            name="change-bg",
            label="Change background",
            group="background",
            description="test",
            run=_local_needs_generation,
            params=(
                Param(
                    name="background", label="Background", kind="choice", default="color", choices=("color", "prompt")
                ),
                Param(name="prompt", label="Prompt", kind="text", default=""),
            ),
        )
    )
    return registry


@pytest.fixture
def e2e_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    yield from installed_registry(monkeypatch, _registry())


@pytest.fixture
async def runner(e2e_registry: ToolRegistry) -> AsyncIterator[None]:
    await job_runner.start()
    yield
    await job_runner.stop()


async def _run_job(user_id: int, asset_id: str, tool: str, params: dict[str, Any], provider: str | None) -> JobView:
    async with session_scope() as session:
        view = await jobs.submit(
            session, user_id=user_id, asset_id=asset_id, tool=tool, params=params, provider=provider
        )
    return await jobs.wait_for(view.id, user_id=user_id, timeout=30)


async def _result_pixels(user_id: int, view: JobView) -> np.ndarray:
    assert view.result_asset_id is not None
    async with session_scope() as session:
        return await assets.load_pixels(session, owner_id=user_id, asset_id=view.result_asset_id)


async def test_imagekit_job_succeeds_and_keeps_the_credit(imagekit: ImageKitFake, runner: None) -> None:
    user_id = await make_user("ik-ok@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "remove-bg", {"mode": "standard"}, "imagekit")
    assert done.status == "succeeded", done.error
    assert done.provider == "imagekit" and done.credit_state == "kept"
    assert await usage_count(user_id) == 1
    pixels = await _result_pixels(user_id, done)
    assert pixels.shape[2] == 4, "the cut-out keeps its transparency"
    assert any(d[2] for d in imagekit.deliveries), "the runner waited through 'being prepared'"
    assert imagekit.files == {}, "the temporary upload was deleted"


async def test_imagekit_ik_error_fails_and_refunds(imagekit: ImageKitFake, runner: None) -> None:
    imagekit.fail_ops["retouch"] = "No face could be detected"
    user_id = await make_user("ik-err@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "retouch", {}, "imagekit")
    assert done.status == "failed"
    assert done.error is not None and "No face could be detected" in done.error
    assert done.credit_state == "refunded"
    assert done.retryable is False  # this photo: "Try again" is not offered
    assert await usage_count(user_id) == 0


async def test_imagekit_timeout_fails_and_refunds(
    imagekit: ImageKitFake, monkeypatch: pytest.MonkeyPatch, e2e_registry: ToolRegistry
) -> None:

    monkeypatch.setenv("IMAGEKIT_TIMEOUT_S", "0.6")
    reset_settings()
    router.reset_providers()
    imagekit.prepare_count = 10_000
    await job_runner.start()
    try:
        user_id = await make_user("ik-slow@example.com", limit=3)
        asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
        done = await _run_job(user_id, asset_id, "retouch", {}, "imagekit")
    finally:
        await job_runner.stop()
    assert done.status == "failed" and done.error is not None and "did not finish within" in done.error
    assert done.credit_state == "refunded" and await usage_count(user_id) == 0
    assert done.retryable is True
    assert imagekit.files == {}


async def test_gemini_job_succeeds_and_keeps_the_credit(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("gm-ok@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "change-bg", {"background": "prompt", "prompt": "a beach"}, "gemini")
    assert done.status == "succeeded", done.error
    assert done.provider == "gemini" and done.credit_state == "kept"
    assert await usage_count(user_id) == 1
    assert (await _result_pixels(user_id, done)).shape[:2] == photo(96).shape[:2]


@pytest.mark.parametrize("behaviour", ["blocked", "image-safety"])
async def test_gemini_refusal_fails_with_message_and_refunds(gemini: GeminiFake, runner: None, behaviour: str) -> None:
    gemini.script(behaviour)
    user_id = await make_user(f"gm-{behaviour}@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "prompt", {"prompt": "turn him into a dragon"}, "gemini")
    assert done.status == "failed"
    assert done.error is not None and ("refused" in done.error or "safety filter" in done.error)
    assert done.credit_state == "refunded" and await usage_count(user_id) == 0
    assert done.retryable is False


async def test_gemini_outage_fails_retryably_and_refunds(gemini: GeminiFake, runner: None) -> None:
    gemini.script("503", "503", "503", "503")
    user_id = await make_user("gm-503@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "prompt", {"prompt": "add a rainbow"}, "gemini")
    assert done.status == "failed" and done.error is not None and "having trouble" in done.error
    assert done.retryable is True and done.credit_state == "refunded" and await usage_count(user_id) == 0


async def test_gemini_429_then_success(gemini: GeminiFake, runner: None) -> None:
    gemini.script("429")
    user_id = await make_user("gm-429@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "prompt", {"prompt": "add a rainbow"}, "gemini")
    assert done.status == "succeeded", done.error
    assert gemini.calls == 2 and await usage_count(user_id) == 1


async def test_prompt_hand_off_from_the_local_interpreter_to_gemini(gemini: GeminiFake, runner: None) -> None:
    """No provider asked for: the job is queued on the local engine, whose interpreter says it needs a
    generative model; the router hands it to Gemini and the user gets the edit."""
    user_id = await make_user("handoff@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "prompt", {"prompt": "put a hat on the cat"}, None)
    assert done.status == "succeeded", done.error
    assert len(gemini.requests) == 1
    assert "put a hat on the cat" in gemini.requests[0]["body"]["contents"][0]["parts"][0]["text"]
    assert await usage_count(user_id) == 1


async def test_without_generative_provider_the_local_message_is_shown_and_refunded(runner: None) -> None:
    user_id = await make_user("nogen@example.com", limit=3)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _run_job(user_id, asset_id, "prompt", {"prompt": "put a hat on the cat"}, None)
    assert done.status == "failed" and done.error is not None and "generative provider" in done.error
    assert done.credit_state == "refunded" and await usage_count(user_id) == 0
    assert done.retryable is False
