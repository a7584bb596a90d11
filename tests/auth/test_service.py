"""Accounts services: passwords, enumeration resistance, lockout, sessions, reset tokens, admin, CSRF."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Annotated

import bcrypt
import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from sqlalchemy import select, update
from starlette.responses import Response

from db.models import LoginThrottle, PasswordReset, UserSession, as_utc, utcnow
from db.models import User as UserRow
from db.session import session_scope
from pages.guard import viewer_of
from pixora_ui import mail
from pixora_ui.auth import accounts, lockout, passwords, reset, sessions
from pixora_ui.auth.current import CurrentUser, current_user_from_token, require_user
from pixora_ui.auth.errors import InvalidCredentials, InvalidEmail, ResetTokenInvalid
from pixora_ui.auth.redirects import login_url, safe_next
from pixora_ui.commands import admin_tasks as admin
from pixora_ui.settings import load_settings, reset_settings
from pixora_ui.web.csrf import check_origin
from tests.auth.conftest import PASSWORD, make_user, outbox_mails, reset_link_token

REPO = Path(__file__).resolve().parents[2]

# Every service test runs on SQLite and on the real PostgreSQL (timestamps, conditional updates).
pytestmark = pytest.mark.usefixtures("any_db")


async def user_row(user_id: int) -> UserRow | None:
    async with session_scope() as session:
        return await session.get(UserRow, user_id)


# --- passwords ---------------------------------------------------------------------------------


async def test_sign_up_normalises_email_and_hashes_with_bcrypt() -> None:
    user_id = await accounts.sign_up(
        email="  Ada@Example.COM ", password=PASSWORD, name="  Ada   Lovelace ", address="1.2.3.4"
    )
    assert user_id is not None
    row = await user_row(user_id)
    assert row is not None
    assert row.email == "ada@example.com"
    assert row.name == "Ada Lovelace"
    assert row.plan == "free" and row.usage_limit == 3 and row.usage_count == 0
    assert row.password_hash is not None and row.password_hash.startswith("$2b$04$")
    assert bcrypt.checkpw(PASSWORD.encode(), row.password_hash.encode())
    assert await accounts.sign_in(email="ADA@example.com ", password=PASSWORD, address="1.2.3.4") == user_id


async def test_sign_up_rules() -> None:
    with pytest.raises(passwords.PasswordPolicyError, match="at least 10"):
        await accounts.sign_up(email="a@example.com", password="ninechars", name="", address="1.2.3.4")
    with pytest.raises(InvalidEmail):
        await accounts.sign_up(email="not-an-email", password=PASSWORD, name="", address="1.2.3.4")
    await accounts.sign_up(email="a@example.com", password=PASSWORD, name="", address="1.2.3.4")
    # A taken address makes no second account, and says so to nobody but its owner (tests/web).
    assert await accounts.sign_up(email="A@example.com", password=PASSWORD, name="", address="1.2.3.4") is None


def test_default_cost_is_12() -> None:
    settings = load_settings({"APP_ENV": "test"}, dotenv=False)
    assert settings.bcrypt_rounds == 12
    hashed = passwords._hash_sync("x" * 12, settings.bcrypt_rounds)
    assert passwords.hash_cost(hashed) == 12


async def test_rehash_when_cost_rises(monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = await make_user()
    monkeypatch.setenv("BCRYPT_ROUNDS", "5")
    reset_settings()
    await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="")
    row = await user_row(user_id)
    assert row is not None and row.password_hash is not None
    assert passwords.hash_cost(row.password_hash) == 5
    assert await passwords.verify_password(PASSWORD, row.password_hash)


async def test_hashing_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = passwords._hash_sync

    def spy(password: str, rounds: int) -> str:
        seen.append(threading.current_thread().name)
        return original(password, rounds)

    monkeypatch.setattr(passwords, "_hash_sync", spy)
    await passwords.hash_password(PASSWORD)
    assert seen and seen[0] != threading.main_thread().name


async def test_unknown_email_and_wrong_password_take_the_same_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enumeration timing by code path: both cases run exactly one bcrypt comparison at the same cost."""
    await make_user()
    google_only = await accounts.sign_up(email="g@example.com", password=PASSWORD, name="", address="1.2.3.4")
    assert google_only is not None
    async with session_scope() as session:
        row = await session.get(UserRow, google_only)
        assert row is not None
        row.password_hash, row.google_sub = None, "sub-g"

    calls: list[str] = []
    original = passwords._verify_sync

    def spy(password: str, password_hash: str) -> bool:
        calls.append(password_hash)
        return original(password, password_hash)

    monkeypatch.setattr(passwords, "_verify_sync", spy)
    messages = []
    for address in ("nobody@example.com", "ada@example.com", "g@example.com"):
        calls.clear()
        with pytest.raises(InvalidCredentials) as caught:
            await accounts.sign_in(email=address, password="wrong password!", address="10.0.0.1")
        messages.append(str(caught.value))
        assert len(calls) == 1, address
        assert passwords.hash_cost(calls[0]) == 4, address  # dummy hash has the configured cost
    dummy = passwords._dummy_hash(4)
    assert messages == ["Wrong email or password."] * 3
    # The unknown email and the Google-only account were compared against the dummy hash.
    async with session_scope() as session:
        real_hash = await session.scalar(select(UserRow.password_hash).where(UserRow.email == "ada@example.com"))
    assert real_hash != dummy


# --- lockout ---------------------------------------------------------------------------------


async def test_five_failures_at_one_address_make_that_pair_wait() -> None:
    # Growing delays per (account, address) instead of a lockout (tests/web has the full rules).
    await make_user()
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await accounts.sign_in(email="ada@example.com", password="wrong password", address="10.0.0.1")
    with pytest.raises(lockout.LockedOut) as locked:
        await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="10.0.0.1")
    assert 25 <= locked.value.wait_seconds <= 30
    assert "Try again in" in str(locked.value)
    # The same account from another address is not held up.
    assert await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="10.9.9.9")

    # Once the failures are older than the window, the right password works and clears the pair.
    async with session_scope() as session:
        await session.execute(update(LoginThrottle).values(updated_at=utcnow() - timedelta(minutes=16)))
    assert await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="10.0.0.1")
    async with session_scope() as session:
        left = list(await session.scalars(select(LoginThrottle.key).where(LoginThrottle.key.like("pair:%"))))
    assert left == []


async def test_one_address_guessing_across_accounts_is_slowed_down() -> None:
    await make_user()
    for index in range(20):
        with pytest.raises(InvalidCredentials):
            await accounts.sign_in(email=f"guess{index}@example.com", password="wrong password", address="6.6.6.6")
    with pytest.raises(lockout.LockedOut):
        await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="6.6.6.6")
    # The account itself is not held up at other addresses.
    assert await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="7.7.7.7")


async def test_success_resets_the_pair_and_account_counts() -> None:
    await make_user()
    for _round in range(2):
        for _attempt in range(4):
            with pytest.raises(InvalidCredentials):
                await accounts.sign_in(email="ada@example.com", password="wrong password", address="10.0.0.1")
        assert await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="10.0.0.1")


async def test_success_does_not_reset_the_address_count() -> None:
    # Otherwise signing in to one's own account between guesses would defeat the per-address limit.
    await make_user()
    await make_user("me@example.com")
    for index in range(19):
        with pytest.raises(InvalidCredentials):
            await accounts.sign_in(email=f"victim{index}@example.com", password="guess guess", address="6.6.6.6")
    assert await accounts.sign_in(email="me@example.com", password=PASSWORD, address="6.6.6.6")
    with pytest.raises(InvalidCredentials):
        await accounts.sign_in(email="victim90@example.com", password="guess guess", address="6.6.6.6")
    with pytest.raises(lockout.LockedOut):
        await accounts.sign_in(email="victim91@example.com", password="guess guess", address="6.6.6.6")


# --- sessions --------------------------------------------------------------------------------


async def test_sessions_store_only_a_hash_and_rotate_at_sign_in() -> None:
    user_id = await make_user()
    first = await accounts.start_session(user_id=user_id, user_agent="UA", ip="1.1.1.1", replaces=None)
    assert first is not None and len(first) >= 43  # 256 bits, URL-safe base64
    async with session_scope() as session:
        stored = list(await session.scalars(select(UserSession.token_hash)))
    assert stored == [hashlib.sha256(first.encode()).hexdigest()]
    second = await accounts.start_session(user_id=user_id, user_agent="UA", ip="1.1.1.1", replaces=first)
    assert second is not None and second != first
    assert await current_user_from_token(first) is None  # the old token is dead: no fixation
    me = await current_user_from_token(second)
    assert isinstance(me, CurrentUser)
    assert me.email == "ada@example.com" and me.has_password and not me.has_google
    assert me.usage.label == "3 of 3 free edits left"


async def test_expiry_slides_at_most_hourly_and_expired_sessions_are_refused() -> None:
    user_id = await make_user()
    token = await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None)
    assert token
    now = utcnow()
    async with session_scope() as session:
        await session.execute(
            update(UserSession).values(last_seen_at=now - timedelta(minutes=10), expires_at=now + timedelta(days=2))
        )
    assert await current_user_from_token(token)
    async with session_scope() as session:
        row = await session.scalar(select(UserSession))
        assert row is not None
        assert as_utc(row.expires_at) < now + timedelta(days=3)  # not slid: seen 10 minutes ago
        row.last_seen_at = now - timedelta(hours=2)
    assert await current_user_from_token(token)
    async with session_scope() as session:
        row = await session.scalar(select(UserSession))
        assert row is not None
        assert as_utc(row.expires_at) > now + timedelta(days=29)
        row.expires_at = now - timedelta(seconds=1)
    assert await current_user_from_token(token) is None


async def test_plan_and_usage_are_fresh_after_a_plan_change() -> None:
    user_id = await make_user()
    token = await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None)
    before = await current_user_from_token(token)
    assert before is not None and before.usage.limit == 3
    await admin.set_plan(email="ADA@example.com", plan="pro")
    after = await current_user_from_token(token)
    assert after is not None and after.plan == "pro" and after.usage_limit is None
    assert after.usage.label == "Pro · unlimited"


async def test_cookie_of_a_deleted_user_is_refused() -> None:
    user_id = await make_user()
    token = await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None)
    await accounts.delete_account(user_id=user_id)
    assert await current_user_from_token(token) is None
    assert await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None) is None


async def test_change_password_signs_out_other_sessions_only() -> None:
    user_id = await make_user()
    keep = await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None)
    other = await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None)
    me = await current_user_from_token(keep)
    assert me is not None
    with pytest.raises(accounts.AccountError, match="current password"):
        await accounts.change_password(
            user_id=user_id, current_password="nope nope nope", new_password="a new password", keep_session_id=1
        )
    revoked = await accounts.change_password(
        user_id=user_id, current_password=PASSWORD, new_password="a new password", keep_session_id=me.session_id
    )
    assert revoked == 1
    assert await current_user_from_token(keep) is not None
    assert await current_user_from_token(other) is None
    assert await accounts.sign_in(email="ada@example.com", password="a new password", address="")


# --- password reset ----------------------------------------------------------------------------


async def test_reset_request_gives_no_hint_and_mails_only_real_accounts(isolated_env: Path) -> None:
    await make_user()
    assert await reset.request_reset(email="nobody@example.com") is None
    await mail.drain()
    assert outbox_mails(isolated_env) == []
    assert await reset.request_reset(email=" ADA@example.com") is None
    await mail.drain()
    mails = outbox_mails(isolated_env)
    assert len(mails) == 1 and mails[0]["To"] == "ada@example.com"
    token = reset_link_token(mails[0])
    async with session_scope() as session:
        stored = await session.scalar(select(PasswordReset.token_hash))
    assert stored == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept


async def test_reset_token_single_use_and_signs_out_everything(isolated_env: Path) -> None:
    user_id = await make_user()
    old = await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None)
    await reset.request_reset(email="ada@example.com")
    await reset.request_reset(email="ada@example.com")
    await mail.drain()
    first, second = (reset_link_token(m) for m in outbox_mails(isolated_env))
    assert await reset.token_is_valid(first)
    assert await reset.reset_password(token=first, new_password="brand new password") == user_id
    assert await current_user_from_token(old) is None
    with pytest.raises(ResetTokenInvalid):
        await reset.reset_password(token=first, new_password="another password!")
    # The other link of the account was used up too.
    assert not await reset.token_is_valid(second)
    assert await accounts.sign_in(email="ada@example.com", password="brand new password", address="")


async def test_expired_reset_token_is_refused(isolated_env: Path) -> None:
    await make_user()
    await reset.request_reset(email="ada@example.com")
    await mail.drain()
    token = reset_link_token(outbox_mails(isolated_env)[0])
    async with session_scope() as session:
        await session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert not await reset.token_is_valid(token)
    with pytest.raises(ResetTokenInvalid):
        await reset.reset_password(token=token, new_password="brand new password")
    with pytest.raises(ResetTokenInvalid):
        await reset.reset_password(token="made-up", new_password="brand new password")


async def test_reset_mail_goes_through_smtp_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        say("220 fake ESMTP")
        await writer.drain()
        data = False
        buffer: list[bytes] = []
        while line := await reader.readline():
            if data:
                if line == b".\r\n":
                    received.append(b"".join(buffer))
                    data = False
                    say("250 queued")
                else:
                    buffer.append(line)
            elif line.upper().startswith((b"EHLO", b"HELO")):
                say("250 fake")
            elif line.upper().startswith(b"DATA"):
                data = True
                say("354 go")
            elif line.upper().startswith(b"QUIT"):
                say("221 bye")
                await writer.drain()
                break
            else:
                say("250 ok")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
        monkeypatch.setenv("SMTP_STARTTLS", "false")
        reset_settings()
        await make_user()
        await reset.request_reset(email="ada@example.com")
        await mail.drain()
    finally:
        server.close()
    assert len(received) == 1
    message = message_from_bytes(received[0])
    assert message["To"] == "ada@example.com"
    assert "/reset-password?token=" in message.get_payload()


# --- admin and CLI ---------------------------------------------------------------------------


async def test_admin_create_user_and_set_plan() -> None:
    await admin.create_user(email="Op@Example.com", password=PASSWORD, name="Op", plan="pro", is_admin=True)
    async with session_scope() as session:
        row = await session.scalar(select(UserRow).where(UserRow.email == "op@example.com"))
    assert row is not None and row.is_admin and row.plan == "pro" and row.usage_limit is None
    with pytest.raises(admin.AdminError, match="already exists"):
        await admin.create_user(email="op@example.com", password=PASSWORD, name="", plan="free", is_admin=False)
    with pytest.raises(admin.AdminError, match="at least 10"):
        await admin.create_user(email="x@example.com", password="short", name="", plan="free", is_admin=False)
    with pytest.raises(admin.AdminError, match="no user"):
        await admin.set_plan(email="missing@example.com", plan="pro")
    await admin.set_plan(email="op@example.com", plan="free")
    async with session_scope() as session:
        row = await session.scalar(select(UserRow).where(UserRow.email == "op@example.com"))
    assert row is not None and row.plan == "free" and row.usage_limit == 3


def test_admin_cli(isolated_env: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "main.py"), "admin", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = run("create-user", "cli@example.com", "--password", PASSWORD, "--name", "Cli")
    assert made.returncode == 0, made.stderr
    assert "Created cli@example.com on the free plan." in made.stdout
    assert PASSWORD not in made.stdout + made.stderr
    moved = run("set-plan", "CLI@example.com", "pro")
    assert moved.returncode == 0, moved.stderr
    assert "cli@example.com is now on the pro plan." in moved.stdout
    again = run("create-user", "cli@example.com", "--password", PASSWORD)
    assert again.returncode == 1 and "already exists" in again.stderr


# --- redirects, CSRF, JSON 401 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/billing", "/billing"),
        ("/studio?asset=abc", "/studio?asset=abc"),
        ("//evil.example/x", "/studio"),
        ("/\\evil.example", "/studio"),
        ("https://evil.example/", "/studio"),
        ("javascript:alert(1)", "/studio"),
        ("studio", "/studio"),
        ("/x\r\nSet-Cookie: a=b", "/studio"),
        ("", "/studio"),
        (None, "/studio"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_login_url() -> None:
    assert login_url("/billing") == "/login?next=/billing"
    assert login_url("//evil") == "/login"


def _api_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/me")
    async def me(user: Annotated[CurrentUser, Depends(require_user)]) -> dict[str, str]:
        return {"email": user.email}

    @app.post("/api/change", dependencies=[Depends(check_origin)])
    async def change(request: Request) -> dict[str, bool]:
        return {"ok": True}

    return app


async def test_require_user_answers_json_401_and_knows_the_user() -> None:
    user_id = await make_user()
    token = await accounts.start_session(user_id=user_id, user_agent="", ip="", replaces=None)
    transport = httpx.ASGITransport(app=_api_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8080") as client:
        anonymous = await client.get("/api/me")
        assert anonymous.status_code == 401
        assert anonymous.json() == {"detail": {"error": "unauthorized", "message": "Sign in first"}}
        client.cookies.set(sessions.SESSION_COOKIE, token or "")
        signed = await client.get("/api/me")
        assert signed.status_code == 200 and signed.json() == {"email": "ada@example.com"}


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"origin": "http://localhost:8080"}, True),
        ({"origin": "http://evil.example"}, False),
        ({"origin": "null"}, False),
        ({"referer": "http://localhost:8080/profile"}, True),
        ({"referer": "https://evil.example/page"}, False),
        ({"sec-fetch-site": "cross-site"}, False),
        ({"sec-fetch-site": "same-origin"}, True),
        ({}, True),  # no browser headers at all: a script, not a forged browser request
    ],
)
async def test_check_origin(headers: dict[str, str], allowed: bool) -> None:
    transport = httpx.ASGITransport(app=_api_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8080") as client:
        response = await client.post("/api/change", headers=headers)
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert response.json()["detail"]["error"] == "forbidden"


def test_cookie_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Response()
    sessions.set_session_cookie(plain, "tok")
    header = plain.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header
    assert f"max-age={30 * 24 * 3600}" in header
    monkeypatch.setenv("BASE_URL", "https://pixora.example")
    reset_settings()
    secure = Response()
    sessions.set_session_cookie(secure, "tok")
    assert "secure" in secure.headers["set-cookie"].lower()


def test_viewer_labels() -> None:
    base = {
        "id": 1,
        "email": "ada@example.com",
        "name": "Ada",
        "avatar_url": None,
        "is_admin": False,
        "team_id": None,
        "role": None,
        "session_id": 1,
        "payment_warning": False,
        "has_password": True,
        "has_google": False,
        "created_at": datetime.now(UTC),
    }
    free = CurrentUser(plan="free", usage_count=1, usage_limit=3, **base)  # type: ignore[arg-type]
    pro = CurrentUser(plan="pro", usage_count=50, usage_limit=None, **base)  # type: ignore[arg-type]
    assert viewer_of(free).usage_label == "2 of 3 free edits left"
    assert viewer_of(free).plan_label == "Free"
    assert viewer_of(pro).usage_label == "Pro · unlimited"
