"""A team invitation survives sign-up, the confirmation link, a password sign-in and Google sign-in,
and is only ever accepted by the address it was sent to (NiceGUI's simulated user; the Chromium
journeys are in test_invitation_browser.py)."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from urllib.parse import quote, unquote

from nicegui.testing import User
from sqlalchemy import select

from db.models import PLAN_PRO, PLAN_TEAM, Invitation
from db.models import User as UserRow
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import verify
from pixora_ui.services import teams
from pixora_ui.services.plans import apply_plan
from pixora_ui.settings import get_settings
from tests.auth.conftest import PASSWORD, RETRIES, make_user, outbox_mails, session_cookie
from tests.auth.test_google import google_round_trip
from tests.fakes.oidc import FakeOIDC

JOINED = "You joined Olga's team, Acme Studio"


async def invite(address: str, outbox: Path) -> str:
    """Olga (Pro) owns "Acme Studio" and invites `address`; the raw token from the mailed link."""
    async with session_scope() as session:
        owner = UserRow(email="owner@example.com", name="Olga")
        apply_plan(owner, PLAN_PRO, get_settings())
        session.add(owner)
        await session.flush()
        owner_id = owner.id
    await teams.start_team(owner_id=owner_id, name="Acme Studio")
    await teams.send_invitation(owner_id=owner_id, email=address)
    (message,) = [m for m in sorted(outbox.glob("*.eml")) if b"invited you" in m.read_bytes()]
    body = email.message_from_bytes(message.read_bytes(), policy=email.policy.default).get_body(("plain",))
    assert body is not None
    return str(body.get_content()).split("token=")[1].split()[0]


async def member(address: str) -> tuple[str | None, str | None]:
    """(plan, team name) of the account with `address`."""
    async with session_scope() as session:
        row = await session.scalar(select(UserRow).where(UserRow.email == address))
        assert row is not None
        team = await teams.team_for(session, user_id=row.id)
        return row.plan, team.name if team else None


async def still_pending(token: str) -> bool:
    async with session_scope() as session:
        invitation = await session.scalar(
            select(Invitation).where(Invitation.token_hash == teams.invitation_key(token))
        )
        return invitation is not None and invitation.accepted_at is None


def confirmation_mail(data_dir: Path) -> str:
    (message,) = [m for m in outbox_mails(data_dir) if "Confirm your e-mail" in str(m["Subject"])]
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body.decode()


def confirmation_link(data_dir: Path) -> str:
    found = re.search(r"http://localhost:8080(/verify-email\?token=[A-Za-z0-9._%\-]+)", confirmation_mail(data_dir))
    assert found
    return found.group(1)


async def sign_up_from_invitation(user: User, token: str, *, address: str | None = None) -> None:
    """Open the invitation, choose "Create an account" and send the form (with `address` instead of
    the invited one when given)."""
    await user.open(f"/team/join?token={token}")
    await user.should_see("Join Acme Studio", retries=RETRIES)
    user.find(marker="invite-signup").click()
    await user.should_see(marker="signup-submit", retries=RETRIES)
    user.find(marker="name").type("Nora Newcomer")
    if address is not None:
        user.find(marker="email").clear().type(address)
    user.find(marker="password").type(PASSWORD)
    user.find(marker="signup-submit").click()
    await user.should_see(marker="signup-check-inbox", retries=RETRIES)
    await mail.drain()


async def test_sign_up_then_the_confirmation_link_joins_the_team_on_any_device(user: User, isolated_env: Path) -> None:
    token = await invite("newcomer@example.com", isolated_env / "outbox")
    await sign_up_from_invitation(user, token)
    await user.should_see("We have sent a message to newcomer@example.com.")  # the invited address, filled in
    await user.should_see(marker="signup-invitation-next")
    link = confirmation_link(isolated_env)
    assert "you join Acme Studio" in confirmation_mail(isolated_env)
    assert await member("newcomer@example.com") == ("free", None)  # nothing before the address is confirmed

    # The mail is opened on another device: a browser without this one's cookies.
    user.http_client.cookies.clear()
    opened = await user.http_client.get(link)
    assert opened.status_code == 303 and opened.headers["location"] == "/studio"
    assert session_cookie(user)
    assert await member("newcomer@example.com") == (PLAN_TEAM, "Acme Studio")
    assert not await still_pending(token)
    await user.open("/studio")
    await user.should_see(JOINED, retries=RETRIES)


async def test_a_link_sent_again_still_joins_the_team(user: User, isolated_env: Path) -> None:
    """ "Send the link again" (the studio's notice) carries the invitation as the first link did."""
    token = await invite("newcomer@example.com", isolated_env / "outbox")
    await sign_up_from_invitation(user, token)
    async with session_scope() as session:
        row = await session.scalar(select(UserRow).where(UserRow.email == "newcomer@example.com"))
        assert row is not None
        user_id = row.id
    for message in sorted((isolated_env / "outbox").glob("*.eml")):
        if b"Confirm your e-mail" in message.read_bytes():
            message.unlink()  # only the new link is left to open
    assert await verify.resend(user_id=user_id)
    await mail.drain()
    assert "you join Acme Studio" in confirmation_mail(isolated_env)
    user.http_client.cookies.clear()  # opened on another device
    opened = await user.http_client.get(confirmation_link(isolated_env))
    assert opened.status_code == 303
    assert await member("newcomer@example.com") == (PLAN_TEAM, "Acme Studio")


async def test_the_invitation_in_a_confirmation_link_cannot_be_swapped(isolated_env: Path) -> None:
    """The key rides inside the link's HMAC: a link for one invitation cannot be pointed at another."""
    token = await invite("newcomer@example.com", isolated_env / "outbox")
    other = teams.invitation_key("some other invitation")
    user_id = await make_user("newcomer@example.com")
    link = verify.issue_token(user_id, "newcomer@example.com", invitation=teams.invitation_key(token))
    uid, expires, key, signature = link.split(".")
    assert key == teams.invitation_key(token) and token not in link  # the key, never the raw token
    assert await verify.confirm_link(f"{uid}.{expires}.{other}.{signature}") is None
    assert await verify.confirm_link(f"{uid}.{expires}.{signature}") is None  # nor dropped from it


async def test_sign_up_with_another_address_says_so_and_does_not_join(user: User, isolated_env: Path) -> None:
    token = await invite("newcomer@example.com", isolated_env / "outbox")
    await sign_up_from_invitation(user, token, address="nora@elsewhere.example")
    await user.should_see(marker="signup-invitation-other-address")
    await user.should_see("The invitation to Acme Studio is for newcomer@example.com")
    await user.should_not_see(marker="signup-invitation-next")
    link = confirmation_link(isolated_env)
    assert len(unquote(link).split("token=")[1].split(".")) == 3  # user.expires.signature: no invitation
    assert "Acme Studio" not in confirmation_mail(isolated_env)

    opened = await user.http_client.get(link)  # same browser: the invitation it kept does not apply either
    assert opened.headers["location"] == "/studio"
    assert await member("nora@elsewhere.example") == ("free", None)
    assert await still_pending(token)  # still there for the invited address

    # Back on the invitation, signed in as the other address: a clear refusal, nothing to accept.
    await user.open(f"/team/join?token={token}")
    await user.should_see("This invitation is for newcomer@example.com", retries=RETRIES)
    await user.should_see("You are signed in as nora@elsewhere.example")
    await user.should_not_see(marker="accept-invite")


async def test_an_existing_account_signs_in_from_the_invitation_and_joins(user: User, isolated_env: Path) -> None:
    await make_user("newcomer@example.com")
    token = await invite("newcomer@example.com", isolated_env / "outbox")
    await user.open(f"/team/join?token={token}")
    login = user.find(marker="invite-login").elements.pop()
    await user.open(str(login.props["href"]))
    user.find(marker="email").type("newcomer@example.com")
    user.find(marker="password").type(PASSWORD)
    user.find(marker="login-submit").click()
    await user.should_see(JOINED, retries=RETRIES)
    assert await member("newcomer@example.com") == (PLAN_TEAM, "Acme Studio")


async def test_google_from_the_invitation_joins_the_team(provider: FakeOIDC, user: User, isolated_env: Path) -> None:
    token = await invite("grace@example.com", isolated_env / "outbox")  # the fake provider's person
    await user.open(f"/team/join?token={token}")
    await user.should_see(marker="google-sign-in", retries=RETRIES)
    done = await google_round_trip(user, provider, next_path=quote(f"/team/join?token={token}", safe="/"))
    assert done.status_code == 303 and done.headers["location"] == "/studio"
    assert await member("grace@example.com") == (PLAN_TEAM, "Acme Studio")
    await user.open("/studio")
    await user.should_see(JOINED, retries=RETRIES)


async def test_google_with_another_address_is_told_whose_invitation_it_is(
    provider: FakeOIDC, user: User, isolated_env: Path
) -> None:
    token = await invite("newcomer@example.com", isolated_env / "outbox")
    await user.open(f"/team/join?token={token}")
    done = await google_round_trip(user, provider, next_path=quote(f"/team/join?token={token}", safe="/"))
    assert done.headers["location"] == f"/team/join?token={token}"  # back to the invitation, which explains
    assert await member("grace@example.com") == ("free", None)
    assert await still_pending(token)
    await user.open(done.headers["location"])
    await user.should_see("This invitation is for newcomer@example.com", retries=RETRIES)
    await user.should_see("You are signed in as grace@example.com")
    await user.should_not_see(marker="accept-invite")


async def test_a_kept_invitation_is_dropped_at_an_unrelated_sign_in(user: User, isolated_env: Path) -> None:
    """Someone else signing in later in the same browser neither joins nor sees a word about it."""
    token = await invite("newcomer@example.com", isolated_env / "outbox")
    await make_user("ada@example.com")
    await user.open(f"/team/join?token={token}")
    await user.should_see("Join Acme Studio", retries=RETRIES)
    await user.open("/login?next=/profile")
    user.find(marker="email").type("ada@example.com")
    user.find(marker="password").type(PASSWORD)
    user.find(marker="login-submit").click()
    await user.should_see("Member since", retries=RETRIES)
    await user.should_not_see("invitation")
    assert await member("ada@example.com") == ("free", None)
    assert await still_pending(token)
