"""GET /api/upload-auth: signed one-time upload credentials, checked by recomputing the signature and
by uploading with them to the fake ImageKit as a browser would."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
from nicegui.testing import User

from db.session import session_scope
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from tests.fakes import imagekit_fake
from tests.fakes.imagekit_fake import ImageKitFake
from tests.providers.helpers import photo, png
from tests.services.conftest import make_user


async def _sign_in(user: User) -> int:
    user_id = await make_user("ik@example.com")
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    return user_id


async def test_signed_out_gets_401(imagekit: ImageKitFake, user: User) -> None:
    response = await user.http_client.get("/api/upload-auth")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_503_when_imagekit_is_off(user: User) -> None:
    await _sign_in(user)
    response = await user.http_client.get("/api/upload-auth")
    assert response.status_code == 503
    assert response.json()["error"] == "imagekit_off"


async def test_signature_recomputed_and_accepted_by_imagekit(imagekit: ImageKitFake, user: User) -> None:
    user_id = await _sign_in(user)
    response = await user.http_client.get("/api/upload-auth")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) >= {"token", "expire", "signature", "publicKey", "urlEndpoint"}
    assert body["publicKey"] == imagekit_fake.PUBLIC_KEY
    assert body["urlEndpoint"] == imagekit.url_endpoint
    assert imagekit_fake.PRIVATE_KEY not in response.text
    now = time.time()
    assert now < body["expire"] < now + 3600
    expected = hmac.new(
        imagekit_fake.PRIVATE_KEY.encode(), f"{body['token']}{body['expire']}".encode(), hashlib.sha1
    ).hexdigest()
    assert body["signature"] == expected
    assert body["token"] != (await user.http_client.get("/api/upload-auth")).json()["token"]

    # A browser uploads with exactly these fields (no private key): the fake accepts it once.
    fields = {
        "fileName": "direct.png",
        "publicKey": body["publicKey"],
        "signature": body["signature"],
        "expire": str(body["expire"]),
        "token": body["token"],
        "folder": body["folder"],
    }
    files = {"file": ("direct.png", png(photo(32)), "image/png")}
    async with httpx.AsyncClient() as browser:
        ok = await browser.post(f"{imagekit.base_url}/api/v1/files/upload", data=fields, files=files)
        assert ok.status_code == 200, ok.text
        assert ok.json()["filePath"].startswith(f"/pixora/u{user_id}/direct")
        replay = await browser.post(f"{imagekit.base_url}/api/v1/files/upload", data=fields, files=files)
        assert replay.status_code == 400 and "used before" in replay.json()["message"]
        forged = await browser.post(
            f"{imagekit.base_url}/api/v1/files/upload",
            data={**fields, "token": "another-token"},
            files=files,
        )
        assert forged.status_code == 400 and "signature" in forged.json()["message"].lower()
