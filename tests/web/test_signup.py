"""Item 4: free AI edits only for confirmed addresses, sign-ups limited per address, one answer
whether or not the address has an account, and no bcrypt before the cheap checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from nicegui.testing import User
from sqlalchemy import func, select

from db.models import User as UserRow
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import accounts, lockout, passwords, verify
from pixora_ui.auth.errors import InvalidEmail
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.commands import admin_tasks as admin
from pixora_ui.services import jobs
from pixora_ui.services.usage import VERIFY_MESSAGE, EmailNotVerified
from tests.auth.conftest import PASSWORD, RETRIES, make_user, outbox_mails
from tests.services.conftest import upload_photo, usage_count

pytestmark = pytest.mark.usefixtures("any_db")


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = passwords.hash_password

    async def counting(password: str) -> str:
        seen.append(password)
        return await real(password)

    monkeypatch.setattr(passwords, "hash_password", counting)
    return seen


async def _users() -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)


async def test_ten_sign_ups_from_one_address_make_at_most_five_accounts(hashes: list[str]) -> None:
    made, refused = 0, 0
    for index in range(10):
        try:
            await accounts.sign_up(email=f"n{index}@example.com", password=PASSWORD, name="", address="6.6.6.6")
            made += 1
        except lockout.LockedOut as exc:
            refused += 1
            assert "Try again in" in str(exc)
    assert (made, refused) == (5, 5)
    assert await _users() == 5
    assert len(hashes) == 5  # the refused ones never reached bcrypt
    # Another address is not affected.
    assert await accounts.sign_up(email="other@example.com", password=PASSWORD, name="", address="7.7.7.7")


async def test_cheap_checks_come_before_bcrypt(hashes: list[str]) -> None:
    with pytest.raises(InvalidEmail):
        await accounts.sign_up(email="not an email", password=PASSWORD, name="", address="1.1.1.1")
    with pytest.raises(passwords.PasswordPolicyError):
        await accounts.sign_up(email="a@example.com", password="short", name="", address="1.1.1.1")
    assert hashes == []


async def test_a_taken_address_gets_the_same_answer_and_its_owner_a_mail(isolated_env: Path) -> None:
    await make_user()
    before = await _users()
    # No error, nothing that differs for the caller: the page shows "check your inbox" either way.
    assert await accounts.sign_up(email="ADA@example.com", password=PASSWORD, name="Eve", address="1.1.1.1") is None
    assert await _users() == before
    await mail.drain()
    mails = outbox_mails(isolated_env)
    assert [(m["To"], str(m["Subject"])) for m in mails] == [("ada@example.com", "You already have a Pixora account")]


async def test_free_edits_wait_for_a_confirmed_address(isolated_env: Path, test_registry: object) -> None:
    user_id = await accounts.sign_up(email="new@example.com", password=PASSWORD, name="New", address="1.1.1.1")
    assert user_id is not None
    asset_id = await upload_photo(user_id)
    with pytest.raises(EmailNotVerified, match="Confirm your e-mail address"):
        async with session_scope() as session:
            await jobs.submit(session, user_id=user_id, asset_id=asset_id, tool="t-invert", params={})
    assert await usage_count(user_id) == 0
    # Free tools work already.
    async with session_scope() as session:
        await jobs.submit(session, user_id=user_id, asset_id=asset_id, tool="t-free", params={})

    await mail.drain()
    message = next(m for m in outbox_mails(isolated_env) if "Confirm" in str(m["Subject"]))
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    token = body.decode().split("/verify-email?token=", 1)[1].split()[0]
    assert await verify.confirm("1" + token) is None  # a forged token confirms nothing
    assert await verify.confirm(token) == user_id
    assert await verify.confirm(token) is None  # once
    async with session_scope() as session:
        await jobs.submit(session, user_id=user_id, asset_id=asset_id, tool="t-invert", params={})
    assert await usage_count(user_id) == 1


async def test_an_expired_link_confirms_nothing() -> None:
    user_id = await accounts.sign_up(email="new@example.com", password=PASSWORD, name="", address="1.1.1.1")
    assert user_id is not None
    old = verify.issue_token(user_id, "new@example.com", now=1_000_000)
    assert await verify.confirm(old) is None


async def test_the_api_says_how_to_get_the_free_edits(user: User, test_registry: object) -> None:
    user_id = await accounts.sign_up(email="new@example.com", password=PASSWORD, name="", address="1.1.1.1")
    assert user_id is not None
    asset_id = await upload_photo(user_id)
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    response = await user.http_client.post("/api/jobs", json={"asset_id": asset_id, "tool": "t-invert"})
    assert response.status_code == 403
    assert response.json()["message"] == VERIFY_MESSAGE
    assert await usage_count(user_id) == 0


async def test_accounts_made_by_an_administrator_or_google_are_verified() -> None:
    await admin.create_user(email="boss@example.com", password=PASSWORD, name="Boss", plan="free", is_admin=True)
    async with session_scope() as session:
        google_user = await accounts.google_account(
            session, sub="g-1", email="g@example.com", email_verified=True, name="G", picture=None
        )
        google_id = google_user.id
    async with session_scope() as session:
        rows = dict((await session.execute(select(UserRow.email, UserRow.email_verified))).tuples().all())
    assert rows["boss@example.com"] is True and rows["g@example.com"] is True
    assert google_id


async def test_google_confirms_an_unconfirmed_password_account() -> None:
    user_id = await accounts.sign_up(email="new@example.com", password=PASSWORD, name="", address="1.1.1.1")
    async with session_scope() as session:
        await accounts.google_account(
            session, sub="g-2", email="new@example.com", email_verified=True, name=None, picture=None
        )
    async with session_scope() as session:
        row = await session.get(UserRow, user_id)
        assert row is not None and row.email_verified


async def test_resending_the_link_is_limited() -> None:
    user_id = await accounts.sign_up(email="new@example.com", password=PASSWORD, name="", address="1.1.1.1")
    assert user_id is not None
    for _ in range(verify.RESEND_FREE):
        assert await verify.resend(user_id=user_id)
    with pytest.raises(lockout.LockedOut):
        await verify.resend(user_id=user_id)


async def test_the_studio_tells_an_unconfirmed_user_and_resends(user: User, isolated_env: Path) -> None:
    user_id = await accounts.sign_up(email="new@example.com", password=PASSWORD, name="New", address="1.1.1.1")
    assert user_id is not None
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    await user.open("/studio")
    await user.should_see(marker="verify-notice", retries=RETRIES)
    await user.should_see("Confirm your e-mail address to get your 3 free AI edits", retries=RETRIES)
    await mail.drain()
    before = len(outbox_mails(isolated_env))
    user.find(marker="resend-verification").click()
    await user.should_see("A new link is on its way to new@example.com.", retries=RETRIES)
    await mail.drain()
    assert len(outbox_mails(isolated_env)) == before + 1
