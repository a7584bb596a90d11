"""Uploads and the library: validation by content, EXIF rotation, no GPS, quota, dedupe, delete and purge."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from db.session import session_scope
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.services import asset_files, assets
from pixora_ui.settings import get_settings, reset_settings
from tests.services.conftest import jpeg_bytes, make_user, png_bytes, upload_photo

pytestmark = pytest.mark.usefixtures("test_registry")


def media_files() -> list[Path]:
    return sorted(p for p in get_settings().media_dir.rglob("*") if p.is_file())


def gps_rotated_jpeg() -> bytes:
    """A landscape photo stored sideways with EXIF orientation 6 (rotate 90° clockwise) and a GPS position."""
    image = Image.fromarray(skdata.chelsea())  # 451 wide, 300 high
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TestCam"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 30.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=92)
    return out.getvalue()


async def test_upload_rotates_strips_metadata_and_makes_a_preview(any_db: str) -> None:
    owner = await make_user()
    raw = gps_rotated_jpeg()
    assert b"TestCam" in raw
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=owner, data=raw, filename="../../etc/cat photo.jpg")
        stored = await assets.read_bytes(view)
        preview = await assets.read_bytes(view, variant="preview")
    assert view.name == "cat photo.jpg"
    assert (view.width, view.height) == (300, 451)  # upright
    assert view.mime == "image/jpeg" and view.root_id == view.id and view.parent_id is None
    image = Image.open(io.BytesIO(stored))
    assert image.size == (300, 451)
    assert not image.getexif()  # no orientation, camera or GPS left
    assert b"TestCam" not in stored and b"GPS" not in stored
    assert Image.open(io.BytesIO(preview)).format == "WEBP"


async def test_transparent_and_lossless_uploads_stay_png() -> None:
    owner = await make_user()
    rgba = np.dstack([skdata.astronaut()[:64, :64], np.full((64, 64), 128, np.uint8)])
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=owner, data=png_bytes(rgba), filename="a.png")
        data = await assets.read_bytes(view)
    assert view.mime == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), rgba)


async def test_bad_uploads_are_refused_by_content(monkeypatch: pytest.MonkeyPatch) -> None:
    owner = await make_user()
    async with session_scope() as session:
        with pytest.raises(ImageInputError):
            await assets.upload(session, owner_id=owner, data=b"GIF89a but not really", filename="x.gif")
        with pytest.raises(ImageInputError):
            await assets.upload(session, owner_id=owner, data=b"<svg onload=alert(1)>", filename="photo.jpg")
    monkeypatch.setenv("STORAGE_QUOTA_MB", "0")
    reset_settings()
    async with session_scope() as session:
        with pytest.raises(assets.QuotaExceeded):
            await assets.upload(session, owner_id=owner, data=jpeg_bytes(), filename="a.jpg")
    assert media_files() == []


async def test_dedupe_delete_undo_and_purge(any_db: str) -> None:
    owner = await make_user()
    other = await make_user("other@example.com")
    first = await upload_photo(owner)
    second = await upload_photo(other)  # the same bytes: one file on disk
    files = media_files()
    assert len(files) == 2  # the photo and its preview
    async with session_scope() as session:
        deleted = await assets.delete_asset(session, owner_id=owner, asset_id=first)
    assert deleted == [first]
    async with session_scope() as session:
        assert await assets.list_library(session, owner_id=owner) == []
        assert await assets.undo_delete(session, owner_id=owner, asset_ids=deleted) == 1
    async with session_scope() as session:
        assert [i.original.id for i in await assets.list_library(session, owner_id=owner)] == [first]
        await assets.delete_asset(session, owner_id=owner, asset_id=first)
    async with session_scope() as session:
        assert await assets.purge_deleted(session, older_than=timedelta(0)) == 1
    await asset_files.wait_for_file_removals()
    assert media_files() == files  # still used by the other user's asset
    async with session_scope() as session:
        assert await assets.delete_all_assets(session, owner_id=other) == 1
    await asset_files.wait_for_file_removals()
    assert media_files() == []
    async with session_scope() as session:
        with pytest.raises(assets.AssetNotFound):
            await assets.get_asset(session, owner_id=other, asset_id=second)


async def test_rename_and_masks() -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    async with session_scope() as session:
        renamed = await assets.rename_asset(session, owner_id=owner, asset_id=photo, name="  Holiday\n.jpg ")
        assert renamed.name == "Holiday .jpg"
        with pytest.raises(assets.AssetError):
            await assets.rename_asset(session, owner_id=owner, asset_id=photo, name="   ")
        strokes = np.zeros((100, 100, 4), np.uint8)
        strokes[10:20, 10:20] = 255
        mask = await assets.create_mask_asset(session, owner_id=owner, for_asset_id=photo, data=png_bytes(strokes))
        original = await assets.get_asset(session, owner_id=owner, asset_id=photo)
        versions = await assets.list_versions(session, owner_id=owner, root_id=photo)
        pixels = await assets.load_pixels(session, owner_id=owner, asset_id=mask.id)
    assert (mask.width, mask.height) == (original.width, original.height)
    assert mask.tool == assets.MASK_TOOL and [v.id for v in versions] == [photo]
    assert pixels[original.height // 2 - 1 + 0, 0, 0] == 0
    assert pixels[int(15 * original.height / 100), int(15 * original.width / 100), 0] == 255
