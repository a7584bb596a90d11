"""Item 5: every size from 1x1 to the limit works or is refused with a clear message: uploads,
previews, crops to a 1-pixel strip, format changes, and /api/gemini/edit."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from nicegui.testing import User
from PIL import Image

from db.session import session_scope
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.engine.ops import imageio
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.services import assets, jobs
from tests.services.conftest import make_user, usage_count

WORKS = [(1, 1), (1, 60000), (60000, 1), (7000, 1), (1, 7000), (65000, 1), (513, 1), (1025, 2), (3, 60000)]
REFUSED = [(65001, 1), (1, 100_000)]


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(("width", "height"), WORKS)
def test_previews_of_strips_have_at_least_one_pixel(width: int, height: int) -> None:
    pixels = np.zeros((height, width, 3), np.uint8)
    small = imageio.resize_to_fit(pixels, 512)
    assert min(small.shape[:2]) >= 1 and max(small.shape[:2]) <= 512
    preview = Image.open(io.BytesIO(imageio.make_preview(pixels)))
    assert preview.width >= 1 and preview.height >= 1


@pytest.mark.parametrize(("width", "height"), WORKS)
async def test_strip_uploads_work(width: int, height: int) -> None:
    user_id = await make_user()
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=user_id, data=_png(width, height), filename="strip.png")
    assert (view.width, view.height) == (width, height)


@pytest.mark.parametrize(("width", "height"), REFUSED)
async def test_too_long_strips_are_refused_clearly(width: int, height: int) -> None:
    user_id = await make_user()
    with pytest.raises(ImageInputError, match="at most 65,000 pixels on a side"):
        async with session_scope() as session:
            await assets.upload(session, owner_id=user_id, data=_png(width, height), filename="strip.png")


async def _run(user_id: int, asset_id: str, tool: str, params: dict[str, object]) -> jobs.JobView:
    async with session_scope() as session:
        view = await jobs.submit(session, user_id=user_id, asset_id=asset_id, tool=tool, params=params)
    return await jobs.wait_for(view.id, user_id=user_id, timeout=60)


@pytest.mark.usefixtures("basic_registry", "running_runner")
@pytest.mark.parametrize(("width", "height"), [(7000, 1), (1, 7000), (1, 1)])
async def test_cropping_to_a_strip_works(width: int, height: int) -> None:
    user_id = await make_user()
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=user_id, data=_png(7000, 7000), filename="big.png")
    done = await _run(user_id, view.id, "crop", {"x": 0, "y": 0, "width": width, "height": height})
    assert done.status == "succeeded", done.error
    async with session_scope() as session:
        result = await assets.get_asset(session, owner_id=user_id, asset_id=done.result_asset_id or "")
    assert (result.width, result.height) == (width, height)


@pytest.mark.usefixtures("basic_registry", "running_runner")
async def test_a_result_no_format_can_hold_fails_with_a_message_and_no_credit() -> None:
    user_id = await make_user()
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=user_id, data=_png(20000, 2), filename="strip.png")
    done = await _run(user_id, view.id, "t-invert", {})
    assert done.status == "succeeded"  # the strip itself is fine as JPEG/PNG
    done = await _run(user_id, view.id, "convert", {"format": "webp"})
    assert done.status == "failed"
    assert "WebP images can be at most 16,383 pixels on a side" in (done.error or "")
    assert "Something went wrong" not in (done.error or "")
    assert await usage_count(user_id) == 1  # only the invert, which succeeded


async def test_a_webp_download_of_a_long_strip_is_a_400(user: User, test_registry: object) -> None:
    user_id = await make_user()
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=user_id, data=_png(20000, 1), filename="strip.png")
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    response = await user.http_client.get(f"/media/{view.id}?format=webp")
    assert response.status_code == 400
    assert "WebP images can be at most" in response.json()["message"]
    assert (await user.http_client.get(f"/media/{view.id}/preview")).status_code == 200


@pytest.mark.parametrize(("width", "height"), [(60000, 1), (1, 60000), (65001, 1)])
async def test_gemini_edit_of_a_strip_is_never_a_500(
    user: User, gemini: object, test_registry: object, width: int, height: int
) -> None:
    user_id = await make_user()
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    image = base64.b64encode(_png(width, height)).decode()
    response = await user.http_client.post("/api/gemini/edit", json={"image": image, "prompt": "make it blue"})
    assert response.status_code < 500 or response.status_code == 502, response.text
    if response.status_code >= 400:
        assert response.json()["message"]
    if max(width, height) > 65000:
        assert response.status_code == 400 and "65,000" in response.json()["message"]
        assert await usage_count(user_id) == 0
