"""Cancel within 2 s of the click, even in the middle of an upscale tile (ncnn cannot be interrupted
from Python: the supervisor replaces a worker that does not stop within 1.5 s)."""

from __future__ import annotations

import asyncio
import io
import time

import numpy as np
import pytest
from nicegui.testing import User
from PIL import Image
from skimage import data

from db.session import session_scope
from pixora_ui.services import jobs, studio
from pixora_ui.settings import reset_settings
from tests.engine.conftest import require_model
from tests.services.conftest import make_pro, upload_photo
from tests.workers.conftest import ready_pool

pytestmark = pytest.mark.models


@pytest.fixture
def real_engine_workers(monkeypatch: pytest.MonkeyPatch, engine_workers: None) -> None:
    monkeypatch.delenv("ENGINE_TOOL_REGISTRY")  # the real tools, the real upscaler
    reset_settings()


@pytest.mark.usefixtures("real_engine_workers")
async def test_cancel_in_the_middle_of_a_quality_upscale_ends_the_job_within_two_seconds(user: User) -> None:
    require_model("realesrgan-x4plus")
    await user.open("/")
    user_id = await make_pro()
    # 256 x 256 is one body tile of several seconds here: the cancel lands inside it.
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:256, 128:384])).save(buffer, format="PNG")
    photo = await upload_photo(user_id, buffer.getvalue(), name="face.png")
    await ready_pool()

    view = await studio.submit_edit(user_id, asset_id=photo, tool="upscale", params={"scale": "4", "model": "quality"})
    started = asyncio.Event()
    finished: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def on_change(job: jobs.JobView) -> None:
        if job.status == "running" and job.message.startswith("Upscaling"):
            started.set()  # the first tile is running inside ncnn
        if job.done and not finished.done():
            finished.set_result(time.monotonic())

    unsubscribe = jobs.subscribe(view.id, on_change)
    try:
        await asyncio.wait_for(started.wait(), timeout=120)
        clicked = time.monotonic()
        await studio.cancel_edit(user_id, view.id)
        ended = await asyncio.wait_for(finished, timeout=30)
    finally:
        unsubscribe()
    assert ended - clicked <= 2.0, f"the cancel took {ended - clicked:.2f} s"
    async with session_scope() as session:
        final = await jobs.get_job(session, user_id=user_id, job_id=view.id)
    assert final.status == "cancelled" and final.result_asset_id is None
    assert final.credit_state == "none"  # a Pro user: nothing was reserved, nothing to refund
    # Whether the worker stopped by itself or was killed, a warm local worker serves the next job.
    pool = await ready_pool()
    assert [w for w in pool.status() if w["lane"] == "local" and w["alive"]]
    assert (await user.http_client.get("/healthz")).status_code == 200
