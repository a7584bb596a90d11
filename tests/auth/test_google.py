"""Google sign-in against a local fake OpenID provider speaking the real wire format (RS256 ID tokens)."""

from __future__ import annotations

import io
import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from nicegui.testing import User
from PIL import Image
from skimage import data
from sqlalchemy import func, select

from db.models import User as UserRow
from db.models import UserSession
from db.session import session_scope
from pixora_ui.auth import accounts, google
from pixora_ui.auth.current import current_user_from_token
from pixora_ui.auth.errors import InvalidCredentials
from pixora_ui.services import studio
from pixora_ui.settings import reset_settings
from tests.auth.conftest import RETRIES, make_user, session_cookie
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOIDC


async def google_round_trip(user: User, provider: FakeOIDC, next_path: str = "/profile") -> httpx.Response:
    """Start at /auth/google/start, 'consent' at the fake provider, come back to the callback."""
    start = await user.http_client.get(f"/auth/google/start?next={next_path}")
    assert start.status_code in {302, 303, 307}, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(f"{provider.base_url}/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["client_id"] == [CLIENT_ID]
    assert "nonce" in query and "state" in query
    assert query["redirect_uri"] == ["http://localhost:8080/auth/google/callback"]
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(authorize)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["location"])
    assert parse_qs(back.query)["state"] == query["state"]
    return await user.http_client.get(f"{back.path}?{back.query}")


async def count_users() -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)


async def test_new_google_user_is_free_with_three_edits(provider: FakeOIDC, user: User) -> None:
    done = await google_round_trip(user, provider)
    assert done.status_code == 303
    assert done.headers["location"] == "/profile"
    assert session_cookie(user)
    async with session_scope() as session:
        row = await session.scalar(select(UserRow).where(UserRow.email == "grace@example.com"))
    assert row is not None
    assert row.google_sub == "google-sub-1"
    assert row.plan == "free"
    assert row.usage_limit == 3
    assert row.password_hash is None
    assert row.avatar_url == "https://example.com/grace.png"
    # The token request authenticated with HTTP Basic and sent the code (the fake checked both).
    assert provider.token_requests[-1]["grant_type"] == "authorization_code"
    await user.open("/profile")
    await user.should_see("grace@example.com", retries=RETRIES)
    await user.should_see(marker="method-google", retries=RETRIES)

    # Signing in again finds the same account by its Google subject.
    user.http_client.cookies.clear()
    again = await google_round_trip(user, provider)
    assert again.status_code == 303
    assert await count_users() == 1


async def test_existing_password_account_is_linked_not_duplicated(provider: FakeOIDC, user: User) -> None:
    user_id = await make_user("grace@example.com", name="")
    done = await google_round_trip(user, provider)
    assert done.headers["location"] == "/profile"
    assert await count_users() == 1
    async with session_scope() as session:
        row = await session.get(UserRow, user_id)
    assert row is not None
    assert row.google_sub == "google-sub-1"
    assert row.password_hash is None  # the unverified sign-up password does not survive the link
    assert row.name == "Grace Hopper"
    await user.open("/profile")
    await user.should_see(marker="method-google", retries=RETRIES)
    await user.should_not_see(marker="method-password")
    await user.should_see("Set a password", retries=RETRIES)


def _astronaut_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_google_link_evicts_a_pre_registered_password_squatter(
    provider: FakeOIDC, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    # The attacker signs up first with the victim's address (sign-up never proves the email) ...
    squatter_password = "attacker knows this one"
    account_id = await make_user("grace@example.com", squatter_password, name="", plan="pro")
    squatter_session = await accounts.start_session(user_id=account_id, user_agent="evil", ip="", replaces=None)
    assert squatter_session and await current_user_from_token(squatter_session) is not None
    photo = await studio.upload_photo(account_id, data=_astronaut_png(), filename="astronaut.png")

    # ... then the real owner signs in with Google, whose email is verified.
    with caplog.at_level(logging.INFO, logger="pixora.auth"):
        done = await google_round_trip(user, provider)
    assert done.status_code == 303 and done.headers["location"] == "/profile"
    assert any("password cleared" in r.getMessage() for r in caplog.records)
    assert await count_users() == 1

    # The squatter's session is gone and the password no longer signs in.
    assert await current_user_from_token(squatter_session) is None
    with pytest.raises(InvalidCredentials):
        await accounts.sign_in(email="grace@example.com", password=squatter_password, address="")
    async with session_scope() as session:
        agents = list(await session.scalars(select(UserSession.user_agent).where(UserSession.user_id == account_id)))
        assert len(agents) == 1 and agents != ["evil"]  # only the owner's fresh Google session is left
        row = await session.get(UserRow, account_id)
    assert row is not None and row.password_hash is None and row.google_sub == "google-sub-1"

    # The owner is signed in and the account keeps its plan and photos.
    me = await current_user_from_token(session_cookie(user))
    assert me is not None and me.id == account_id
    assert row.plan == "pro" and row.usage_limit is None
    assert [p.id for p in await studio.library_for(account_id)] == [photo.id]
    await user.open("/profile")
    await user.should_see("Set a password", retries=RETRIES)

    # A password the owner sets later survives the next Google sign-in (the account is linked already).
    await accounts.change_password(
        user_id=account_id, current_password="", new_password="owner's own password", keep_session_id=me.session_id
    )
    user.http_client.cookies.clear()
    again = await google_round_trip(user, provider)
    assert again.headers["location"] == "/profile"
    assert await accounts.sign_in(email="grace@example.com", password="owner's own password", address="") == account_id
    assert await current_user_from_token(session_cookie(user)) is not None


async def test_unverified_email_is_refused(provider: FakeOIDC, user: User) -> None:
    await make_user("grace@example.com")
    provider.identity["email_verified"] = False
    done = await google_round_trip(user, provider)
    assert done.headers["location"] == "/login?error=google_unverified"
    assert session_cookie(user) is None
    async with session_scope() as session:
        row = await session.scalar(select(UserRow).where(UserRow.email == "grace@example.com"))
    assert row is not None and row.google_sub is None  # not linked
    await user.open(done.headers["location"])
    await user.should_see("not verified", retries=RETRIES)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("wrong_nonce", ("'nonce'",)),
        ("wrong_audience", ("'aud'", "'azp'")),
        ("expired", ("ExpiredTokenError",)),
        ("wrong_issuer", ("'iss'",)),
        ("bad_signature", ("BadSignatureError",)),
    ],
)
async def test_bad_id_tokens_are_refused(
    provider: FakeOIDC, user: User, tamper: str, reason: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    provider.tamper = tamper
    with caplog.at_level(logging.WARNING, logger="pixora.auth"):
        done = await google_round_trip(user, provider)
    refusals = [r.getMessage() for r in caplog.records if "google sign-in refused" in r.getMessage()]
    assert refusals and any(r in refusals[-1] for r in reason), refusals
    assert done.status_code == 303
    assert done.headers["location"] == "/login?error=google_failed"
    assert session_cookie(user) is None
    assert await count_users() == 0


async def test_callback_without_matching_state_is_refused(provider: FakeOIDC, user: User) -> None:
    # A callback the browser never started (login CSRF) has no state in this browser's session.
    forged = await user.http_client.get("/auth/google/callback?code=abc&state=forged")
    assert forged.headers["location"] == "/login?error=google_failed"
    assert session_cookie(user) is None


async def test_next_is_honoured_only_for_relative_paths(provider: FakeOIDC, user: User) -> None:
    done = await google_round_trip(user, provider, next_path="//evil.example/x")
    assert done.headers["location"] == "/studio"


async def test_google_button_only_when_configured(provider: FakeOIDC, user: User) -> None:
    await user.open("/login")
    await user.should_see(marker="google-sign-in", retries=RETRIES)
    await user.open("/signup")
    await user.should_see(marker="google-sign-in", retries=RETRIES)


async def test_no_google_button_without_keys(user: User) -> None:
    await user.open("/login")
    await user.should_not_see(marker="google-sign-in")
    await user.open("/signup")
    await user.should_not_see(marker="google-sign-in")
    off = await user.http_client.get("/auth/google/start")
    assert off.headers["location"] == "/login?error=google_off"


async def test_unreachable_provider_is_reported(monkeypatch: pytest.MonkeyPatch, user: User) -> None:
    monkeypatch.setenv("GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GOOGLE_DISCOVERY_URL", "http://127.0.0.1:9/.well-known/openid-configuration")
    reset_settings()
    google.reset_client()
    try:
        response = await user.http_client.get("/auth/google/start")
    finally:
        google.reset_client()
    assert response.headers["location"] == "/login?error=google_unreachable"
    await user.open(response.headers["location"])
    await user.should_see("Google sign-in is not reachable right now", retries=RETRIES)
