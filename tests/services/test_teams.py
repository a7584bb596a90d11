"""Teams: a shared subscription, e-mailed invitations, members following the owner's plan."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from nicegui.testing import User as SimUser

from db.models import PLAN_FREE, PLAN_PRO, PLAN_TEAM, User
from db.session import session_scope
from pixora_ui.auth.accounts import delete_account
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.services import teams
from pixora_ui.services.plans import apply_plan
from pixora_ui.settings import get_settings


async def _user(email: str, plan: str = PLAN_FREE) -> int:
    async with session_scope() as session:
        user = User(email=email, name=email.split("@", maxsplit=1)[0].title(), usage_limit=3)
        apply_plan(user, plan, get_settings())
        session.add(user)
        await session.flush()
        return user.id


async def _plan(user_id: int) -> tuple[str, int | None, int | None]:
    async with session_scope() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.plan, user.usage_limit, user.team_id


def _mail_token(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).split("token=")[1].split()[0]


def _token_from_outbox(outbox: Path) -> str:
    mails = sorted(outbox.glob("*.eml"))
    assert mails, "no invitation mail was written"
    return _mail_token(mails[-1])


@pytest.mark.usefixtures("any_db")
async def test_owner_invites_member_who_gets_unlimited_edits_until_the_subscription_ends(isolated_env: Path) -> None:
    owner = await _user("owner@example.com", PLAN_PRO)
    member = await _user("member@example.com")
    await teams.start_team(owner_id=owner, name="Acme Studio")
    await teams.send_invitation(owner_id=owner, email=" Member@Example.com ")
    token = _token_from_outbox(isolated_env / "outbox")

    assert await teams.join(user_id=member, token=token) == "Acme Studio"
    assert await _plan(member) == (PLAN_TEAM, None, (await _plan(owner))[2])

    with pytest.raises(teams.TeamError, match="already been used"):
        await teams.join(user_id=member, token=token)

    # The owner's subscription ends: the members follow.
    async with session_scope() as session:
        owner_row = await session.get(User, owner)
        assert owner_row is not None
        apply_plan(owner_row, PLAN_FREE, get_settings())
        await teams.sync_members(session, owner=owner_row)
    plan, limit, _team = await _plan(member)
    assert (plan, limit) == (PLAN_FREE, 3)


async def test_free_users_cannot_create_teams_and_invitations_are_bound_to_their_address(isolated_env: Path) -> None:
    free = await _user("free@example.com")
    with pytest.raises(teams.TeamError, match="upgrade to Pro"):
        await teams.start_team(owner_id=free, name="Nope")

    owner = await _user("boss@example.com", PLAN_PRO)
    stranger = await _user("stranger@example.com")
    await teams.start_team(owner_id=owner, name="Crew")
    await teams.send_invitation(owner_id=owner, email="friend@example.com")
    token = _token_from_outbox(isolated_env / "outbox")
    with pytest.raises(teams.TeamError, match=r"friend@example\.com"):
        await teams.join(user_id=stranger, token=token)
    with pytest.raises(teams.TeamError, match="already been invited"):
        await teams.send_invitation(owner_id=owner, email="friend@example.com")
    with pytest.raises(teams.TeamError, match="Only the team's owner"):
        await teams.send_invitation(owner_id=stranger, email="x@example.com")


async def test_seats_are_limited_and_removed_members_go_back_to_free(isolated_env: Path) -> None:
    owner = await _user("o@example.com", PLAN_PRO)
    await teams.start_team(owner_id=owner, name="Five")
    for index in range(4):
        await teams.send_invitation(owner_id=owner, email=f"p{index}@example.com")
    with pytest.raises(teams.TeamError, match="seats are taken"):
        await teams.send_invitation(owner_id=owner, email="p9@example.com")

    member = await _user("p0@example.com")
    tokens = [_mail_token(m) for m in sorted((isolated_env / "outbox").glob("*.eml"))]
    infos = [await teams.invitation_info(token=t) for t in tokens]
    token = tokens[[i.email for i in infos if i].index("p0@example.com")]
    await teams.join(user_id=member, token=token)
    await teams.remove(owner_id=owner, member_id=member)
    assert await _plan(member) == (PLAN_FREE, 3, None)


async def test_team_page_lets_an_owner_invite_and_a_member_accept(user: SimUser, isolated_env: Path) -> None:
    owner = await _user("lead@example.com", PLAN_PRO)
    async with session_scope() as session:
        token = await create_session(session, user_id=owner)
    user.http_client.cookies.set(SESSION_COOKIE, token)

    await user.open("/team")
    await user.should_see("Create a team")
    user.find(marker="team-name").type("Pixel Pushers")
    user.find(marker="create-team").click()
    await user.should_see(marker="team-card")
    await user.should_see("1 of 5 seats")
    user.find(marker="invite-email").type("artist@example.com")
    user.find(marker="send-invite").click()
    await user.should_see("Pending")
    invitation = _token_from_outbox(isolated_env / "outbox")

    artist = await _user("artist@example.com")
    async with session_scope() as session:
        artist_token = await create_session(session, user_id=artist)
    user.http_client.cookies.set(SESSION_COOKIE, artist_token)
    await user.open(f"/team/join?token={invitation}")
    await user.should_see("Join Pixel Pushers")
    user.find(marker="accept-invite").click()
    await user.should_see("Welcome to Pixel Pushers")
    assert (await _plan(artist))[0] == PLAN_TEAM


async def test_team_page_requires_sign_in(user: SimUser) -> None:
    response = await user.http_client.get("/team", follow_redirects=False)
    assert response.status_code in {302, 303, 307}
    assert response.headers["location"].startswith("/login?next=/team")


async def test_deleting_the_owner_sends_members_back_to_free(isolated_env: Path) -> None:
    owner = await _user("founder@example.com", PLAN_PRO)
    member = await _user("crew@example.com")
    await teams.start_team(owner_id=owner, name="Gone Soon")
    await teams.send_invitation(owner_id=owner, email="crew@example.com")
    await teams.join(user_id=member, token=_token_from_outbox(isolated_env / "outbox"))
    await delete_account(user_id=owner)
    assert await _plan(member) == (PLAN_FREE, 3, None)


async def test_an_unconfirmed_account_with_the_invited_address_cannot_accept(isolated_env: Path) -> None:
    """Sign-up never proves the address: someone holding a forwarded link cannot take the seat with it."""
    owner = await _user("chief@example.com", PLAN_PRO)
    claimant = await _user("invitee@example.com")
    async with session_scope() as session:
        row = await session.get(User, claimant)
        assert row is not None
        row.email_verified = False
    await teams.start_team(owner_id=owner, name="Sealed")
    await teams.send_invitation(owner_id=owner, email="invitee@example.com")
    token = _token_from_outbox(isolated_env / "outbox")
    with pytest.raises(teams.TeamError, match="Confirm your e-mail address first"):
        await teams.join(user_id=claimant, token=token)
    assert await _plan(claimant) == (PLAN_FREE, 3, None)
    async with session_scope() as session:
        row = await session.get(User, claimant)
        assert row is not None
        row.email_verified = True
    joined = await teams.join_by_key(user_id=claimant, key=teams.invitation_key(token))
    assert joined.team_name == "Sealed" and joined.notice == "You joined Chief's team, Sealed"
