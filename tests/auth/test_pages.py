"""Every account flow through the pages, with NiceGUI's simulated user."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta
from pathlib import Path

from nicegui.testing import User
from PIL import Image
from skimage import data as samples
from sqlalchemy import func, select, update

from db.models import Asset, PasswordReset, UserSession, utcnow
from db.models import User as UserRow
from db.session import session_scope
from pixora_ui import mail, tokens
from pixora_ui.auth import accounts, sessions, tickets
from pixora_ui.auth.current import current_user_from_token
from pixora_ui.services import asset_files, assets
from pixora_ui.storage.factory import get_storage
from tests.auth.conftest import PASSWORD, RETRIES, make_user, outbox_mails, reset_link_token, session_cookie, sign_in


async def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def session_count(user_id: int | None = None) -> int:
    async with session_scope() as session:
        statement = select(func.count()).select_from(UserSession)
        if user_id is not None:
            statement = statement.where(UserSession.user_id == user_id)
        return int(await session.scalar(statement) or 0)


# --- sign-up and sign-in ---------------------------------------------------------------------


def verification_link(data_dir: Path) -> str:
    """The path of the confirmation link in the newest confirmation mail of the outbox."""
    mails = [m for m in outbox_mails(data_dir) if "Confirm your e-mail" in str(m["Subject"])]
    assert mails, "no confirmation mail"
    body = mails[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(r"http://localhost:8080(/verify-email\?token=[A-Za-z0-9._%\-]+)", body.decode())
    assert match, body
    return match.group(1)


async def test_sign_up_mails_a_link_that_confirms_and_signs_in(user: User, isolated_env: Path) -> None:
    await user.open("/signup?next=/profile")
    user.find(marker="name").type("Ada Lovelace")
    user.find(marker="email").type("  ADA@example.com ")
    user.find(marker="password").type(PASSWORD)
    user.find(marker="signup-submit").click()
    await user.should_see(marker="signup-check-inbox", retries=RETRIES)
    await user.should_see("We have sent a message to ada@example.com.", retries=RETRIES)
    assert session_cookie(user) is None  # the same answer as for a taken address: nobody is signed in
    await mail.drain()
    link = verification_link(isolated_env)
    response = await user.http_client.get(link)
    assert response.status_code == 303
    assert response.headers["location"] == "/studio"
    token = session_cookie(user)
    signed_in = await current_user_from_token(token)
    assert signed_in is not None and signed_in.email == "ada@example.com" and signed_in.email_verified
    # The link signs in once; opened again it only confirms that the address is confirmed.
    user.http_client.cookies.clear()
    again = await user.http_client.get(link)
    assert again.status_code == 303 and again.headers["location"] == "/login?error=verify_used"
    assert session_cookie(user) is None


async def test_sign_up_errors_are_inline(user: User, isolated_env: Path) -> None:
    await make_user()
    await user.open("/signup")
    user.find(marker="email").type("someone@example.com")
    user.find(marker="password").type("too short")
    user.find(marker="signup-submit").click()
    await user.should_see("Use at least 10 characters for your password.", retries=RETRIES)
    user.find(marker="email").clear().type("not an email")
    user.find(marker="password").clear().type(PASSWORD)
    user.find(marker="signup-submit").click()
    await user.should_see("Enter a valid email address.", retries=RETRIES)
    # A taken address gets the same answer as a new one; its owner is told by mail.
    user.find(marker="email").clear().type("ada@example.com")
    user.find(marker="signup-submit").click()
    await user.should_see(marker="signup-check-inbox", retries=RETRIES)
    assert session_cookie(user) is None
    await mail.drain()
    assert [str(m["Subject"]) for m in outbox_mails(isolated_env)] == ["You already have a Pixora account"]


async def test_wrong_email_and_wrong_password_look_the_same(user: User) -> None:
    await make_user()
    await user.open("/login")
    user.find(marker="email").type("nobody@example.com")
    user.find(marker="password").type(PASSWORD)
    user.find(marker="login-submit").click()
    await user.should_see("Wrong email or password.", retries=RETRIES)
    first = user.find(marker="login-error").elements.pop()
    first.set_text("")
    user.find(marker="email").clear().type("ada@example.com")
    user.find(marker="password").clear().type("not the password")
    user.find(marker="login-submit").click()
    await user.should_see("Wrong email or password.", retries=RETRIES)
    assert session_cookie(user) is None


async def test_lockout_shows_the_wait(user: User) -> None:
    await make_user()
    await user.open("/login")
    for _ in range(5):
        user.find(marker="email").clear().type("ada@example.com")
        user.find(marker="password").clear().type("not the password")
        user.find(marker="login-submit").click()
        await user.should_see("Wrong email or password.", retries=RETRIES)
        user.find(marker="login-error").elements.pop().set_text("")
    user.find(marker="email").clear().type("ada@example.com")
    user.find(marker="password").clear().type(PASSWORD)
    user.find(marker="login-submit").click()
    await user.should_see("Too many failed attempts. Try again in", retries=RETRIES)
    assert session_cookie(user) is None


async def test_protected_pages_redirect_to_login_and_come_back(user: User) -> None:
    response = await user.http_client.get("/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/profile"
    await make_user()
    await sign_in(user, next_path="/profile")
    await user.should_see(marker="profile-title", retries=RETRIES)


async def test_open_redirects_are_not_followed(user: User) -> None:
    user_id = await make_user()
    for evil in ("//evil.example", "https://evil.example", "/\\evil.example"):
        await user.open(f"/login?next={evil}")
        await user.should_see(marker="login-submit", retries=RETRIES)
    # The handover for such a `next` goes to the studio.
    client = user.client
    assert client is not None
    url = accounts.handover_url(client.request, user_id=user_id, next_path="//evil.example")
    response = await user.http_client.get(url)
    assert response.headers["location"] == "/studio"


async def test_signed_in_visitor_skips_the_login_page(user: User) -> None:
    await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    response = await user.http_client.get("/login?next=/profile")
    assert response.status_code == 303 and response.headers["location"] == "/profile"


# --- sessions --------------------------------------------------------------------------------


async def test_new_token_at_every_sign_in(user: User) -> None:
    """Session fixation: a planted cookie is never adopted; every sign-in issues a fresh token."""
    user_id = await make_user()
    planted = sessions.new_token()  # an attacker-chosen value, set in the victim's browser beforehand
    user.http_client.cookies.set(sessions.SESSION_COOKIE, planted, domain="test.local")
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    first = session_cookie(user)
    assert first and first != planted
    async with session_scope() as session:
        hashes = set(await session.scalars(select(UserSession.token_hash)))
    assert tokens.hash_token(planted) not in hashes

    # Signing in again while signed in (e.g. after a password prompt) replaces the token too.
    client = user.client
    assert client is not None
    response = await user.http_client.get(accounts.handover_url(client.request, user_id=user_id, next_path="/profile"))
    assert response.headers["location"] == "/profile"
    second = session_cookie(user)
    assert second and second not in {first, planted}
    assert await current_user_from_token(first) is None
    assert await session_count(user_id) == 1


async def test_ticket_is_single_use_and_bound_to_the_browser(user: User) -> None:
    user_id = await make_user()
    other_browser = tickets.issue(kind="sign_in", user_id=user_id, browser_id="someone-else", next_path="/profile")
    response = await user.http_client.get(f"/auth/session?ticket={other_browser}")
    assert response.headers["location"] == "/login?error=expired"
    assert session_cookie(user) is None
    await user.open("/login")
    client = user.client
    assert client is not None
    url = accounts.handover_url(client.request, user_id=user_id, next_path="/profile")
    assert (await user.http_client.get(url)).headers["location"] == "/profile"
    user.http_client.cookies.clear()
    await user.open("/login")
    assert (await user.http_client.get(url)).headers["location"] == "/login?error=expired"


async def test_sign_out_from_the_menu(user: User) -> None:
    user_id = await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    token = session_cookie(user)
    user.find(marker="sign-out").click()
    await wait_for(lambda: session_cookie(user) is None)
    assert await current_user_from_token(token) is None
    assert await session_count(user_id) == 0
    response = await user.http_client.get("/profile")
    assert response.headers["location"] == "/login?next=/profile"


async def test_bare_logout_get_does_not_sign_out_but_post_does(user: User) -> None:
    await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    token = session_cookie(user)
    page = await user.http_client.get("/logout")
    assert page.status_code == 200 and "Sign out of Pixora?" in page.text
    assert await current_user_from_token(token) is not None
    forged = await user.http_client.post("/logout", headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert await current_user_from_token(token) is not None
    done = await user.http_client.post("/logout", headers={"Origin": "http://test"})
    assert done.status_code == 303
    assert await current_user_from_token(token) is None
    assert session_cookie(user) is None


async def test_cookie_from_a_deleted_user(user: User) -> None:
    user_id = await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    async with session_scope() as session:
        await session.execute(UserRow.__table__.delete().where(UserRow.id == user_id))
    response = await user.http_client.get("/profile")
    assert response.headers["location"] == "/login?next=/profile"
    await user.open("/login")
    await user.should_see(marker="login-submit", retries=RETRIES)


# --- profile ---------------------------------------------------------------------------------


async def test_profile_shows_account_plan_and_usage(user: User) -> None:
    user_id = await make_user()
    async with session_scope() as session:
        await session.execute(update(UserRow).where(UserRow.id == user_id).values(usage_count=1))
    await sign_in(user)
    await user.should_see("ada@example.com", retries=RETRIES)
    await user.should_see("Ada Lovelace", retries=RETRIES)
    await user.should_see(marker="member-since", retries=RETRIES)
    await user.should_see("1 of 3 AI edits used", retries=RETRIES)
    await user.should_see(marker="usage-bar", retries=RETRIES)
    await user.should_see(marker="method-password", retries=RETRIES)
    await user.should_not_see(marker="method-google")
    await user.should_see("2 of 3 free edits left", retries=RETRIES)  # header chip


async def test_profile_pro_is_unlimited(user: User) -> None:
    await make_user(plan="pro")
    async with session_scope() as session:
        await session.execute(update(UserRow).values(usage_count=42))
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    await user.should_see("Unlimited AI edits · 42 used so far", retries=RETRIES)
    await user.should_not_see(marker="usage-bar")
    await user.should_not_see("999999")


async def test_edit_name(user: User) -> None:
    user_id = await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    user.find(marker="profile-name").clear().type("  Countess   Ada ")
    user.find(marker="save-name").click()
    await user.should_see("Name saved", retries=RETRIES)
    async with session_scope() as session:
        row = await session.get(UserRow, user_id)
    assert row is not None and row.name == "Countess Ada"


async def test_change_password_keeps_this_session_and_ends_others(user: User) -> None:
    user_id = await make_user()
    elsewhere = await accounts.start_session(user_id=user_id, user_agent="phone", ip="", replaces=None)
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    user.find(marker="current-password").type("wrong wrong wrong")
    user.find(marker="new-password").type("a better password")
    user.find(marker="change-password").click()
    await user.should_see("Your current password is not correct.", retries=RETRIES)
    user.find(marker="current-password").clear().type(PASSWORD)
    user.find(marker="new-password").clear().type("a better password")
    user.find(marker="change-password").click()
    await user.should_see("Password changed. Your other devices were signed out.", retries=RETRIES)
    assert await current_user_from_token(elsewhere) is None
    assert await current_user_from_token(session_cookie(user)) is not None
    assert await accounts.sign_in(email="ada@example.com", password="a better password", address="")


async def test_sign_out_everywhere(user: User) -> None:
    user_id = await make_user()
    await accounts.start_session(user_id=user_id, user_agent="phone", ip="", replaces=None)
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    user.find(marker="sign-out-everywhere").click()
    await wait_for(lambda: session_cookie(user) is None)
    assert await session_count(user_id) == 0


async def test_delete_account_removes_everything(user: User) -> None:
    user_id = await make_user()
    other_id = await make_user("bob@example.com")
    async with session_scope() as session:
        mine = await assets.upload(session, owner_id=user_id, data=png_bytes(samples.astronaut()), filename="a.png")
        theirs = await assets.upload(session, owner_id=other_id, data=png_bytes(samples.coffee()), filename="b.png")
    storage = get_storage("local")
    my_file, their_file = storage.local_path(mine.storage_key), storage.local_path(theirs.storage_key)
    assert my_file and their_file and Path(my_file).exists() and Path(their_file).exists()

    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    user.find(marker="delete-account").click()
    user.find(marker="delete-confirm-email").type("not my email")
    user.find(marker="delete-confirm").click()
    await user.should_see("Type your email exactly to confirm.", retries=RETRIES)
    user.find(marker="delete-confirm-email").clear().type("ada@example.com")
    # Deleting asks for the password again (issue 15): a wrong one deletes nothing.
    user.find(marker="delete-confirm-password").type("not the password")
    user.find(marker="delete-confirm").click()
    await user.should_see("Your current password is not correct.", retries=RETRIES)
    user.find(marker="delete-confirm-password").clear().type(PASSWORD)
    user.find(marker="delete-confirm").click()
    await wait_for(lambda: session_cookie(user) is None)
    async with session_scope() as session:
        assert await session.get(UserRow, user_id) is None
        assert await session.scalar(select(func.count()).select_from(Asset).where(Asset.owner_id == user_id)) == 0
        assert await session.scalar(select(func.count()).select_from(Asset).where(Asset.owner_id == other_id)) == 1
    assert await session_count(user_id) == 0
    await asset_files.wait_for_file_removals()
    assert not Path(my_file).exists()
    assert Path(their_file).exists()
    response = await user.http_client.get("/profile")
    assert response.headers["location"] == "/login?next=/profile"


def png_bytes(pixels: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).resize((64, 64)).save(out, format="PNG")  # type: ignore[arg-type]
    return out.getvalue()


# --- password reset through the pages -----------------------------------------------------------


async def test_forgot_and_reset_password(user: User, isolated_env: Path) -> None:
    user_id = await make_user()
    elsewhere = await accounts.start_session(user_id=user_id, user_agent="laptop", ip="", replaces=None)
    await user.open("/forgot-password")
    user.find(marker="email").type("nobody@example.com")
    user.find(marker="reset-submit").click()
    await user.should_see(marker="reset-sent", retries=RETRIES)
    await user.open("/forgot-password")
    user.find(marker="email").type("ada@example.com")
    user.find(marker="reset-submit").click()
    await user.should_see(marker="reset-sent", retries=RETRIES)
    await mail.drain()
    mails = outbox_mails(isolated_env)
    assert len(mails) == 1
    token = reset_link_token(mails[0])

    await user.open(f"/reset-password?token={token}")
    user.find(marker="new-password").type("the new password")
    user.find(marker="confirm-password").type("the new password")
    user.find(marker="reset-password-submit").click()
    await user.should_see(
        marker="usage-chip", retries=RETRIES
    )  # signed in and sent on (to the studio, or its 404 page)
    assert session_cookie(user)
    assert await current_user_from_token(elsewhere) is None
    assert await accounts.sign_in(email="ada@example.com", password="the new password", address="")

    await user.open(f"/reset-password?token={token}")  # used once already
    await user.should_see(marker="reset-invalid", retries=RETRIES)


async def test_expired_reset_link_page(user: User, isolated_env: Path) -> None:
    await make_user()
    await user.open("/forgot-password")
    user.find(marker="email").type("ada@example.com")
    user.find(marker="reset-submit").click()
    await user.should_see(marker="reset-sent", retries=RETRIES)
    await mail.drain()
    token = reset_link_token(outbox_mails(isolated_env)[0])
    async with session_scope() as session:
        await session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(minutes=1)))
    await user.open(f"/reset-password?token={token}")
    await user.should_see(marker="reset-invalid", retries=RETRIES)
    await user.open("/reset-password?token=made-up")
    await user.should_see(marker="reset-invalid", retries=RETRIES)
