"""Items 7 and 9: reset links die with a password change; sessions end after 90 days; deleting the
account asks again who you are; private media is cached briefly; studio URLs need the owner's
session; NiceGUI's upload URL needs a session; unsupported formats say so; /logout works with
`Origin: null`."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from nicegui import ui
from nicegui.testing import User
from PIL import Image
from sqlalchemy import func, select, update

from components.upload_zone import rejection_messages
from db.models import Asset, PasswordReset, UserSession, utcnow
from db.models import User as UserRow
from db.session import session_scope
from pixora_ui import tokens
from pixora_ui.auth import accounts, reset
from pixora_ui.auth.current import current_user_from_token
from pixora_ui.auth.errors import AccountError
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.engine.ops import imageio
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.services import assets, studio
from tests.auth.conftest import PASSWORD, RETRIES, make_user, sign_in


async def _session_for(user_id: int) -> tuple[str, int]:
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
        session_id = await session.scalar(
            select(UserSession.id).where(UserSession.token_hash == tokens.hash_token(token))
        )
    assert session_id is not None
    return token, session_id


# --- item 7 ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("any_db")
async def test_changing_the_password_revokes_open_reset_links() -> None:
    user_id = await make_user()
    await reset.request_reset(email="ada@example.com")
    async with session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(PasswordReset)) == 1
    _token, session_id = await _session_for(user_id)
    await accounts.change_password(
        user_id=user_id, current_password=PASSWORD, new_password="a brand new password", keep_session_id=session_id
    )
    async with session_scope() as session:
        open_links = await session.scalar(
            select(func.count()).select_from(PasswordReset).where(PasswordReset.used_at.is_(None))
        )
    assert open_links == 0


# --- item 9: sessions and re-authentication -----------------------------------------------------------


@pytest.mark.usefixtures("any_db")
async def test_a_session_ends_ninety_days_after_sign_in_however_active() -> None:
    user_id = await make_user()
    token, session_id = await _session_for(user_id)
    now = utcnow()
    async with session_scope() as session:
        await session.execute(
            update(UserSession)
            .where(UserSession.id == session_id)
            .values(created_at=now - timedelta(days=89, hours=23), last_seen_at=now - timedelta(hours=2))
        )
    assert await current_user_from_token(token) is not None
    async with session_scope() as session:
        expires = await session.scalar(select(UserSession.expires_at).where(UserSession.id == session_id))
    assert expires is not None and expires.replace(tzinfo=now.tzinfo) <= now + timedelta(hours=2)  # capped
    async with session_scope() as session:
        await session.execute(
            update(UserSession).where(UserSession.id == session_id).values(created_at=now - timedelta(days=90, hours=1))
        )
    assert await current_user_from_token(token) is None


@pytest.mark.usefixtures("any_db")
async def test_deleting_the_account_asks_for_the_password_or_a_fresh_google_sign_in() -> None:
    user_id = await make_user()
    _token, session_id = await _session_for(user_id)
    with pytest.raises(AccountError, match="Enter your password"):
        await accounts.confirm_identity(user_id=user_id, session_id=session_id, password="")
    with pytest.raises(AccountError, match="not correct"):
        await accounts.confirm_identity(user_id=user_id, session_id=session_id, password="wrong password")
    await accounts.confirm_identity(user_id=user_id, session_id=session_id, password=PASSWORD)

    async with session_scope() as session:
        google = await accounts.google_account(
            session, sub="g-9", email="g@example.com", email_verified=True, name=None, picture=None
        )
        google_id = google.id
    _token, google_session = await _session_for(google_id)
    await accounts.confirm_identity(user_id=google_id, session_id=google_session, password="")
    async with session_scope() as session:
        await session.execute(
            update(UserSession).where(UserSession.id == google_session).values(created_at=utcnow() - timedelta(hours=1))
        )
    with pytest.raises(AccountError, match="sign in again with Google"):
        await accounts.confirm_identity(user_id=google_id, session_id=google_session, password="")


# --- item 9: media --------------------------------------------------------------------------------------


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


async def _photo(user_id: int) -> str:
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=user_id, data=_png(), filename="p.png")
    return view.id


async def test_private_media_is_cached_briefly_and_revalidated(user: User) -> None:
    user_id = await make_user()
    asset_id = await _photo(user_id)
    token, _ = await _session_for(user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    response = await user.http_client.get(f"/media/{asset_id}")
    assert response.status_code == 200
    cache = response.headers["cache-control"]
    assert "immutable" not in cache and "must-revalidate" in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) <= 300  # type: ignore[union-attr]
    again = await user.http_client.get(f"/media/{asset_id}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_studio_urls_need_the_owners_live_session(user: User) -> None:
    user_id = await make_user()
    stranger = await make_user("eve@example.com")
    asset_id = await _photo(user_id)
    versions = await studio.versions_of(user_id, asset_id)
    urls = [versions[0].preview_url, versions[0].full_url]
    for url in urls:
        expiry = int(re.search(r"exp=(\d+)", url).group(1))  # type: ignore[union-attr]
        assert expiry - utcnow().timestamp() <= 3600 + 300  # an hour at most (rounded to 5 minutes)
    token, _ = await _session_for(user_id)
    client = user.http_client
    client.cookies.set(SESSION_COOKIE, token)
    for url in urls:
        assert (await client.get(url)).status_code == 200
    client.cookies.clear()
    for url in urls:
        assert (await client.get(url)).status_code == 404  # leaked: useless without the session
    eve, _ = await _session_for(stranger)
    client.cookies.set(SESSION_COOKIE, eve)
    assert (await client.get(urls[0])).status_code == 404
    client.cookies.set(SESSION_COOKIE, token)
    await accounts.sign_out(token=token)
    for url in urls:
        assert (await client.get(url)).status_code == 404  # after sign-out
    assert asset_id


# --- item 9: uploads ------------------------------------------------------------------------------------


async def test_nicegui_upload_url_needs_the_session_cookie(user: User) -> None:
    user_id = await make_user()
    await sign_in(user, next_path="/studio")
    await user.should_see(marker="studio", retries=RETRIES)
    upload = user.find(ui.upload).elements.pop()
    url = f"/_nicegui/client/{upload.client.id}/upload/{upload.id}"
    token = user.http_client.cookies.get(SESSION_COOKIE)
    assert token
    user.http_client.cookies.clear()
    response = await user.http_client.post(url, files={"file": ("a.png", _png(), "image/png")})
    assert response.status_code == 401
    assert "Sign in" in response.text
    async with session_scope() as session:
        stored = await session.scalar(select(func.count()).select_from(Asset).where(Asset.owner_id == user_id))
    assert stored == 0


def _tga() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), (1, 2, 3)).save(out, format="TGA")
    return out.getvalue()


def test_an_unsupported_format_says_so() -> None:
    with pytest.raises(ImageInputError) as refused:
        imageio.decode(_tga(), max_bytes=25 << 20, max_pixels=50_000_000)
    assert "TGA format is not supported" in str(refused.value)
    assert "MB" not in str(refused.value)


def test_the_browser_refusal_names_the_reason() -> None:
    [message] = rejection_messages([{"reason": "accept", "name": "scan.tga", "size": 120_000}])
    assert message.startswith("scan.tga: this format is not supported")
    [message] = rejection_messages([{"reason": "max-file-size", "name": "big.jpg", "size": 40 << 20}])
    assert "40 MB is over the 25 MB limit" in message


async def test_the_studio_shows_why_a_file_was_refused(user: User) -> None:
    await make_user()
    await sign_in(user, next_path="/studio")
    await user.should_see(marker="studio", retries=RETRIES)
    user.find(ui.upload).trigger("rejected", [{"reason": "accept", "name": "scan.tga", "size": 120_000}])
    await user.should_see("scan.tga: this format is not supported", retries=RETRIES)


async def test_a_tga_through_the_studio_upload_says_the_format_is_not_supported(user: User) -> None:
    await make_user()
    await sign_in(user, next_path="/studio")
    await user.should_see(marker="studio", retries=RETRIES)
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([ui.upload.SmallFileUpload("scan.tga", "image/x-tga", _tga())])
    await user.should_see("scan.tga: The TGA format is not supported", retries=RETRIES)


# --- item 9: /logout ------------------------------------------------------------------------------------


async def test_the_logout_confirmation_works_with_origin_null(user: User) -> None:
    await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    token = user.http_client.cookies.get(SESSION_COOKIE)
    page = await user.http_client.get("/logout")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "same-origin"  # so the form's POST carries its origin
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text)
    assert ticket
    # Without the page's ticket, a POST with Origin: null is refused with a page, not raw JSON.
    refused = await user.http_client.post("/logout", headers={"Origin": "null"}, data={"ticket": "forged"})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "did not come from Pixora" in refused.text
    assert await current_user_from_token(token) is not None
    done = await user.http_client.post("/logout", headers={"Origin": "null"}, data={"ticket": ticket.group(1)})
    assert done.status_code == 303
    assert await current_user_from_token(token) is None
    async with session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(UserRow)) == 1
