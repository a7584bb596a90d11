"""Media delivery: owner or signed URL only, strong ETag, short revalidated caching, ranges, downloads."""

from __future__ import annotations

import io
import time

import pytest
from nicegui.testing import User
from PIL import Image

from db.session import session_scope
from pixora_ui.services import assets, media
from tests.services.conftest import make_user, upload_photo
from tests.services.test_api import sign_in

pytestmark = pytest.mark.usefixtures("test_registry")


async def test_owner_gets_file_with_caching_headers_and_ranges(user: User) -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    async with session_scope() as session:
        view = await assets.get_asset(session, owner_id=owner, asset_id=photo)
    await sign_in(user, owner)
    client = user.http_client
    response = await client.get(f"/media/{photo}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["etag"] == f'"{view.sha256}"'
    # Short and revalidated: nothing private stays usable from the cache after sign-out (issue 15).
    assert response.headers["cache-control"] == "private, max-age=60, must-revalidate"
    assert response.headers["accept-ranges"] == "bytes"
    assert len(response.content) == view.size
    assert (await client.get(f"/media/{photo}", headers={"If-None-Match": f'"{view.sha256}"'})).status_code == 304
    part = await client.get(f"/media/{photo}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == response.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{view.size}"
    assert (await client.get(f"/media/{photo}", headers={"Range": "bytes=99999999-"})).status_code == 416
    preview = await client.get(f"/media/{photo}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/webp"
    assert max(Image.open(io.BytesIO(preview.content)).size) == 512
    assert (await client.get(f"/media/{photo}/preview", headers={"Range": "bytes=-10"})).content == preview.content[
        -10:
    ]
    download = await client.get(f"/media/{photo}?download=My Photo.jpg&format=png")
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"] == 'attachment; filename="My Photo.png"'
    assert Image.open(io.BytesIO(download.content)).format == "PNG"
    assert (await client.get(f"/media/{photo}?format=gif")).status_code == 400


async def test_strangers_and_bad_signatures_get_404(user: User) -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    stranger = await make_user("stranger@example.com")
    client = user.http_client
    assert (await client.get(f"/media/{photo}")).status_code == 404  # signed out
    await sign_in(user, stranger)
    assert (await client.get(f"/media/{photo}")).status_code == 404
    assert (await client.get(f"/media/{photo}/preview")).status_code == 404
    missing = await client.get("/media/0123456789abcdef0123456789abcdef")
    assert missing.status_code == 404 and missing.json() == (await client.get(f"/media/{photo}")).json()
    client.cookies.clear()

    signed = media.signed_url(photo, expires_in=600)
    assert (await client.get(signed)).status_code == 200
    assert (await client.get(media.signed_url(photo, variant="preview"))).status_code == 200
    tampered = signed[:-3] + ("AAA" if not signed.endswith("AAA") else "BBB")
    assert (await client.get(tampered)).status_code == 404
    # A preview signature does not open the full file, nor another asset.
    preview_sig = media.signed_url(photo, variant="preview").split("?", 1)[1]
    assert (await client.get(f"/media/{photo}?{preview_sig}")).status_code == 404
    other = await upload_photo(owner, name="other.jpg", data=None)
    assert (await client.get(f"/media/{other}?{signed.split('?', 1)[1]}")).status_code == 404
    expired = media.signed_url(photo, expires_in=1, now=time.time() - 3600)
    assert (await client.get(expired)).status_code == 404
    # Deleted: gone for everyone, signed or not.
    async with session_scope() as session:
        await assets.delete_asset(session, owner_id=owner, asset_id=photo)
    assert (await client.get(signed)).status_code == 404


def test_signatures_are_bound_to_asset_variant_and_time() -> None:
    url = media.signed_url("a" * 32, expires_in=600)
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert media.verify("a" * 32, "full", query["exp"], query["sig"])
    assert not media.verify("b" * 32, "full", query["exp"], query["sig"])
    assert not media.verify("a" * 32, "preview", query["exp"], query["sig"])
    assert not media.verify("a" * 32, "full", str(int(query["exp"]) + 300), query["sig"])
    assert not media.verify("a" * 32, "full", query["exp"], None)
    assert not media.verify("a" * 32, "full", query["exp"], query["sig"], now=int(query["exp"]) + 1)
