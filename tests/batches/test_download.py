"""A batch's results as one streamed ZIP: names, formats, decodable files; the studio's route."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from nicegui.testing import User
from PIL import Image
from skimage import data as skdata

from db.session import session_scope
from pixora_ui.services import assets, batches
from pixora_ui.services.batch_zip import ZipFormat, download_entries, download_url, stream_zip
from pixora_ui.services.batches import BatchView
from tests.batches.conftest import finished, submit
from tests.services.conftest import make_user, png_bytes, upload_photo
from tests.services.test_api import sign_in

pytestmark = pytest.mark.usefixtures("batch_registry")

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


async def _finished_batch(user_id: int) -> BatchView:
    """Three photos, two of them with the same name, and one that fails (too small for t-flaky)."""
    first = await upload_photo(user_id, name="Beach day.jpg")
    second = await upload_photo(user_id, name="Beach day.jpg")
    rgba = np.dstack([skdata.astronaut(), np.full((512, 512), 200, np.uint8)])
    third = await upload_photo(user_id, png_bytes(rgba), name="portrait.png")
    tiny = await upload_photo(user_id, png_bytes(skdata.astronaut()[:100, :100].copy()), name="tiny.png")
    batch = await finished(user_id, await submit(user_id, [first, second, third, tiny], tool="t-flaky"))
    assert (batch.succeeded, batch.failed) == (3, 1)
    return batch


async def _archive(user_id: int, batch_id: str, fmt: ZipFormat) -> tuple[zipfile.ZipFile, int]:
    async with session_scope() as session:
        entries = await download_entries(session, user_id=user_id, batch_id=batch_id, fmt=fmt)
    chunks = [chunk async for chunk in stream_zip(entries, fmt)]
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks))), len([c for c in chunks if c])


@pytest.mark.usefixtures("batch_runner")
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
async def test_zip_holds_every_result_in_the_chosen_format(fmt: ZipFormat) -> None:
    user_id = await make_user(limit=10)
    batch = await _finished_batch(user_id)
    archive, chunks = await _archive(user_id, batch.id, fmt)
    ext = "jpg" if fmt == "jpeg" else fmt
    assert archive.namelist() == [f"beach-day-t-flaky.{ext}", f"beach-day-t-flaky-2.{ext}", f"portrait-t-flaky.{ext}"]
    assert chunks >= 3  # written photo by photo, not built whole
    assert archive.testzip() is None
    for name in archive.namelist():
        with Image.open(io.BytesIO(archive.read(name))) as image:
            image.load()
            assert image.format == PIL_FORMATS[fmt]
            assert image.size == (512, 512)
    portrait = Image.open(io.BytesIO(archive.read(f"portrait-t-flaky.{ext}")))
    assert portrait.mode == ("RGB" if fmt == "jpeg" else "RGBA")  # JPEG: transparency flattened


@pytest.mark.usefixtures("batch_runner")
async def test_original_format_keeps_each_stored_file() -> None:
    user_id = await make_user(limit=10)
    batch = await _finished_batch(user_id)
    archive, _ = await _archive(user_id, batch.id, "original")
    names = archive.namelist()
    assert names[2] == "portrait-t-flaky.png"  # a result with transparency is stored as PNG
    for name, item in zip(names, batch.items, strict=False):
        async with session_scope() as session:
            result = await assets.get_asset(session, owner_id=user_id, asset_id=item.result_id or "")
        stored = await assets.read_bytes(result)
        assert archive.read(name) == stored


@pytest.mark.usefixtures("batch_runner")
async def test_nothing_to_download_until_a_photo_succeeds() -> None:
    user_id = await make_user()
    tiny = await upload_photo(user_id, png_bytes(skdata.astronaut()[:100, :100].copy()), name="tiny.png")
    batch = await finished(user_id, await submit(user_id, [tiny], tool="t-flaky"))
    with pytest.raises(batches.NothingToDownload):
        async with session_scope() as session:
            await download_entries(session, user_id=user_id, batch_id=batch.id, fmt="png")


async def test_studio_download_route_is_for_the_owner_only(user: User) -> None:
    owner = await make_user(limit=10)
    batch = await _finished_batch(owner)
    await sign_in(user, owner)
    response = await user.http_client.get(download_url(batch.id, "webp"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f'filename="pixora-t-flaky-{batch.created_at:%Y-%m-%d}.zip"' in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert [n.rsplit(".", 1)[1] for n in archive.namelist()] == ["webp"] * 3
    assert (await user.http_client.get(f"/batches/{batch.id}/download?format=gif")).status_code == 400

    stranger = await make_user("stranger@example.com")
    await sign_in(user, stranger)
    assert (await user.http_client.get(download_url(batch.id))).status_code == 404
    assert (await user.http_client.get("/batches/nope/download")).status_code == 404
    user.http_client.cookies.clear()
    assert (await user.http_client.get(download_url(batch.id))).status_code == 401
