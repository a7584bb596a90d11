"""ImageKit storage with the real SDK against the fake: upload per user, signed delivery, delete, and the
switch of new uploads to ImageKit while older local assets keep working."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from db.session import session_scope
from pixora_ui.services import asset_encoding, assets
from pixora_ui.settings import reset_settings
from pixora_ui.storage import factory
from pixora_ui.storage.imagekit import ImageKitStorage
from tests.fakes.imagekit_fake import ImageKitFake
from tests.providers.helpers import photo, png
from tests.services.conftest import jpeg_bytes, make_user


def _storage() -> ImageKitStorage:
    storage = factory.get_storage("imagekit")
    assert isinstance(storage, ImageKitStorage)
    return storage


async def test_put_get_delete_round_trip(imagekit: ImageKitFake) -> None:
    data = png(photo(40))
    sha = hashlib.sha256(data).hexdigest()
    storage = _storage()
    stored = await storage.put(data, sha256=sha, mime="image/png", owner_id=42, filename="cat.png")
    assert stored.backend == "imagekit" and stored.size == len(data)
    file_id, _, path = stored.key.partition(":")
    assert path == f"/pixora/u42/{sha[:32]}.png"
    assert imagekit.files[file_id].private, "user photos are private files"
    # The same content again is the same file (idempotent put).
    again = await storage.put(data, sha256=sha, mime="image/png", owner_id=42, filename="cat.png")
    assert again.key == stored.key and len(imagekit.files) == 1
    assert await storage.get(stored.key) == data
    await storage.delete(stored.key)
    assert imagekit.files == {}
    await storage.delete(stored.key)  # missing is not an error
    with pytest.raises(FileNotFoundError):
        await storage.get(stored.key)


async def test_delivery_urls_are_signed_with_an_expiry(imagekit: ImageKitFake) -> None:
    data = png(photo(40))
    storage = _storage()
    stored = await storage.put(
        data, sha256=hashlib.sha256(data).hexdigest(), mime="image/png", owner_id=1, filename="a.png"
    )
    url = storage.public_url(stored.key, expires_in=120)
    assert url is not None and url.startswith(imagekit.url_endpoint)
    assert "ik-t=" in url and "ik-s=" in url
    expiry = int(url.split("ik-t=")[1].split("&")[0])
    assert time.time() < expiry <= time.time() + 121
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).content == data
        tampered = url.replace("ik-s=", "ik-s=0")
        denied = await http.get(tampered)
        assert denied.status_code == 401 and "INVALID_SIGNATURE" in denied.headers["ik-error"]
        unsigned = url.split("?")[0]
        assert (await http.get(unsigned)).status_code == 401


async def test_uploads_move_to_imagekit_and_local_assets_keep_working(
    imagekit: ImageKitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await make_user("mover@example.com")
    async with session_scope() as session:
        before = await assets.upload(session, owner_id=owner, data=jpeg_bytes(photo(64)), filename="old.jpg")
    assert before.storage_backend == "local"

    monkeypatch.setenv("IMAGEKIT_UPLOADS", "true")
    reset_settings()
    factory.reset_storage()
    async with session_scope() as session:
        after = await assets.upload(session, owner_id=owner, data=jpeg_bytes(photo(80)), filename="new.jpg")
    assert after.storage_backend == "imagekit"
    assert any(f.file_path.startswith(f"/pixora/u{owner}/") and f.private for f in imagekit.files.values())

    old_bytes = await assets.read_bytes(before)
    new_bytes = await assets.read_bytes(after)
    assert old_bytes[:2] == b"\xff\xd8" and new_bytes[:2] == b"\xff\xd8"
    assert asset_encoding.decode_stored(new_bytes).shape[:2] == photo(80).shape[:2]
