"""Helpers for the accounts tests: create users directly, read cookies and outbox mails."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui.testing import User

from db.session import session_scope
from pixora_ui.auth import google, passwords, tickets
from pixora_ui.auth.accounts import create_password_user
from pixora_ui.auth.sessions import SESSION_COOKIE
from pixora_ui.settings import reset_settings
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOIDC, fake_oidc

PASSWORD = "correct horse battery"
# should_see retries (0.1 s apart): a sign-in runs bcrypt and a navigation on a busy shared machine.
RETRIES = 150  # ~15 s: the first studio page of a cold process imports the engine (seen slow under load)


async def make_user(
    address: str = "ada@example.com", password: str = PASSWORD, *, name: str = "Ada Lovelace", plan: str = "free"
) -> int:
    password_hash = await passwords.hash_password(password)
    async with session_scope() as session:
        user = await create_password_user(session, email=address, password_hash=password_hash, name=name, plan=plan)
        return user.id


def session_cookie(user: User) -> str | None:
    return user.http_client.cookies.get(SESSION_COOKIE)


async def sign_in(user: User, address: str = "ada@example.com", password: str = PASSWORD, next_path: str = "/profile"):
    """Sign in through the real /login page and wait until the profile is shown."""
    await user.open(f"/login?next={next_path}")
    user.find(marker="email").type(address)
    user.find(marker="password").type(password)
    user.find(marker="login-submit").click()


def outbox_mails(data_dir: Path) -> list[email.message.Message]:
    folder = data_dir / "outbox"
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def reset_link_token(message: email.message.Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(r"/reset-password\?token=([A-Za-z0-9_\-%]+)", body.decode())
    assert match, body
    return match.group(1)


@pytest.fixture(autouse=True)
def _clear_tickets() -> Iterator[None]:
    tickets.clear()
    yield
    tickets.clear()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOIDC]:
    """Google sign-in switched on against the local fake OpenID provider."""
    with fake_oidc() as fake:
        monkeypatch.setenv("GOOGLE_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("GOOGLE_DISCOVERY_URL", fake.discovery_url)
        reset_settings()
        google.reset_client()
        yield fake
        google.reset_client()
