"""An invitation link opened by someone not signed in (usually new to Pixora) offers sign-up first,
not "Welcome back, sign in"; both ways lead back to the invitation."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from urllib.parse import unquote

from nicegui import ui
from nicegui.testing import User as SimUser

from db.models import PLAN_PRO, User
from db.session import session_scope
from pixora_ui.services import teams
from pixora_ui.services.plans import apply_plan
from pixora_ui.settings import get_settings


async def _invitation(outbox: Path) -> str:
    async with session_scope() as session:
        owner = User(email="owner@example.com", name="Olga")
        apply_plan(owner, PLAN_PRO, get_settings())
        session.add(owner)
        await session.flush()
        owner_id = owner.id
    await teams.start_team(owner_id=owner_id, name="Acme Studio")
    await teams.send_invitation(owner_id=owner_id, email="newcomer@example.com")
    (mail,) = sorted(outbox.glob("*.eml"))
    body = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default).get_body(("plain",))
    assert body is not None
    return str(body.get_content()).split("token=")[1].split()[0]


async def test_a_newcomer_is_offered_sign_up_that_leads_back(user: SimUser, isolated_env: Path) -> None:
    token = await _invitation(isolated_env / "outbox")
    await user.open(f"/team/join?token={token}")
    await user.should_see("Join Acme Studio")
    await user.should_see("newcomer@example.com")
    await user.should_not_see("Welcome back")
    login = user.find(marker="invite-login").elements.pop()
    assert isinstance(login, ui.link) and unquote(login.props["href"]) == f"/login?next=/team/join?token={token}"
    user.find(marker="invite-signup").click()
    await user.should_see("Create your account")
    await user.should_see("Use newcomer@example.com to join Acme Studio.")
    await user.should_see(marker="signup-submit")


async def test_an_unknown_invitation_says_so_without_asking_to_sign_in(user: SimUser) -> None:
    await user.open("/team/join?token=not-a-real-token")
    await user.should_see("This invitation has already been used or does not exist.")
    await user.should_not_see(marker="invite-signup")
    await user.should_not_see(marker="email")
