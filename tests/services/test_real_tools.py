"""The real engine through the whole flow: upload → submit → runner → provider → result asset."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from db.session import session_scope
from pixora_ui.services import assets, jobs
from pixora_ui.workers import runner
from tests.services.conftest import make_user, upload_photo, usage_count

pytestmark = pytest.mark.models


async def test_background_removal_and_a_basic_edit_end_to_end() -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)
    await runner.start()
    try:
        async with session_scope() as session:
            cutout = await jobs.submit(session, user_id=user_id, asset_id=photo, tool="remove-bg", idempotency_key="a")
            rotate = await jobs.submit(
                session, user_id=user_id, asset_id=photo, tool="rotate", params={"angle": 90}, idempotency_key="b"
            )
        assert cutout.credit_state == "reserved" and rotate.credit_state == "none"
        done = await jobs.wait_for(cutout.id, user_id=user_id, timeout=120)
        rotated = await jobs.wait_for(rotate.id, user_id=user_id, timeout=60)
    finally:
        await runner.stop()
    assert done.status == "succeeded", done.error
    assert rotated.status == "succeeded", rotated.error
    async with session_scope() as session:
        result = await assets.get_asset(session, owner_id=user_id, asset_id=done.result_asset_id or "")
        data = await assets.read_bytes(result)
    assert result.mime == "image/png" and result.parent_id == photo
    pixels = np.asarray(Image.open(io.BytesIO(data)))
    assert pixels.shape[2] == 4 and pixels[:, :, 3].min() == 0 and pixels[:, :, 3].max() == 255
    assert await usage_count(user_id) == 1


async def test_a_crop_that_changes_nothing_fails_and_is_refunded() -> None:
    user_id = await make_user()
    photo = await upload_photo(user_id)  # the astronaut, 512x512
    await runner.start()
    try:
        async with session_scope() as session:
            job = await jobs.submit(
                session,
                user_id=user_id,
                asset_id=photo,
                tool="smart-crop",
                params={"focus": "subject", "ratio": "1:1"},
                idempotency_key="same",
            )
        assert job.credit_state == "reserved"
        done = await jobs.wait_for(job.id, user_id=user_id, timeout=120)
    finally:
        await runner.stop()
    assert done.status == "failed"
    assert done.error is not None and "This crop would not change the photo" in done.error
    assert done.credit_state == "refunded"
    assert await usage_count(user_id) == 0
