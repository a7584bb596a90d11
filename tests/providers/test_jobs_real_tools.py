"""The real tool registry (engineers A and B) routed to the remote providers: parameters as the tools
declare them, the interpreter's hand-off to Gemini, masks sent to Gemini, ImageKit for cut-outs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from db.session import session_scope
from pixora_ui.providers import router
from pixora_ui.services import assets, jobs
from pixora_ui.services.jobs import JobView
from pixora_ui.workers import runner as job_runner
from tests.fakes.gemini_fake import GeminiFake
from tests.fakes.imagekit_fake import ImageKitFake
from tests.providers.helpers import photo, png
from tests.services.conftest import jpeg_bytes, make_user, upload_photo, usage_count


@pytest.fixture
async def runner() -> AsyncIterator[None]:
    router.reset_providers()
    await job_runner.start()
    yield
    await job_runner.stop()
    router.reset_providers()


async def _submit(
    user_id: int, asset_id: str, tool: str, params: dict[str, Any], provider: str | None = None
) -> JobView:
    async with session_scope() as session:
        view = await jobs.submit(
            session, user_id=user_id, asset_id=asset_id, tool=tool, params=params, provider=provider
        )
    return await jobs.wait_for(view.id, user_id=user_id, timeout=60)


async def test_generative_prompt_goes_to_gemini_at_submit(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("real-prompt@example.com", limit=5)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _submit(user_id, asset_id, "prompt", {"prompt": "put a party hat on the astronaut"})
    assert done.status == "succeeded", done.error
    assert done.provider == "gemini" and done.credit_state == "kept"
    assert len(gemini.requests) == 1 and await usage_count(user_id) == 1


async def test_local_prompt_stays_local_with_gemini_configured(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("real-local@example.com", limit=5)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _submit(user_id, asset_id, "prompt", {"prompt": "make it a bit brighter"})
    assert done.status == "succeeded", done.error
    assert done.provider == "local" and gemini.requests == []


async def test_magic_erase_on_gemini_sends_the_mask(gemini: GeminiFake, runner: None) -> None:
    user_id = await make_user("real-erase@example.com", limit=5)
    image = photo(96)
    asset_id = await upload_photo(user_id, png(image), name="photo.png")
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    mask[10:30, 10:30] = 255
    async with session_scope() as session:
        mask_view = await assets.create_mask_asset(session, owner_id=user_id, for_asset_id=asset_id, data=mask)
    done = await _submit(user_id, asset_id, "erase", {"mask": mask_view.id}, "gemini")
    assert done.status == "succeeded", done.error
    parts = gemini.requests[0]["body"]["contents"][0]["parts"]
    assert len(parts) == 3, "the photo and the mask as a second image"
    assert done.result_asset_id is not None
    async with session_scope() as session:
        result = await assets.load_pixels(session, owner_id=user_id, asset_id=done.result_asset_id)
    # Stored as JPEG: far from the mask only compression noise differs.
    far = np.abs(result[60:, 60:, :3].astype(int) - image[60:, 60:].astype(int)).mean()
    assert far < 4, "nothing changed far from the mask"


async def test_remove_bg_pro_on_imagekit(imagekit: ImageKitFake, runner: None) -> None:
    user_id = await make_user("real-ik@example.com", limit=5)
    asset_id = await upload_photo(user_id, jpeg_bytes(photo(96)))
    done = await _submit(user_id, asset_id, "remove-bg", {"mode": "pro"}, "imagekit")
    assert done.status == "succeeded", done.error
    assert imagekit.deliveries[-1][0].startswith("e-removedotbg")
    assert done.credit_state == "kept" and await usage_count(user_id) == 1


async def test_upscale_scale_choice_on_imagekit(imagekit: ImageKitFake, runner: None) -> None:
    user_id = await make_user("real-up@example.com", limit=5)
    image = photo(64)
    asset_id = await upload_photo(user_id, png(image), name="small.png")
    done = await _submit(user_id, asset_id, "upscale", {"scale": "3"}, "imagekit")
    assert done.status == "succeeded", done.error
    assert done.result_asset_id is not None
    async with session_scope() as session:
        view = await assets.get_asset(session, owner_id=user_id, asset_id=done.result_asset_id)
    assert (view.width, view.height) == (image.shape[1] * 3, image.shape[0] * 3)
