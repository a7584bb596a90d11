"""An open page whose session was revoked elsewhere must stop acting for its user.

The page keeps the user it was loaded for; every state-changing handler re-reads the session behind
the page's cookie first (`pages.guard.still_signed_in`) and sends the browser to sign in instead.
"""

from __future__ import annotations

import io
import warnings

from nicegui.testing import User
from PIL import Image
from skimage import data as samples
from sqlalchemy import delete, func, select

from db.models import Team, UserSession
from db.models import User as UserRow
from db.session import session_scope
from pixora_ui.services import studio
from tests.auth.conftest import PASSWORD, RETRIES, make_user, sign_in


async def revoke_every_session() -> None:
    """What "sign out everywhere" on another device, a password reset or a Google link does to this page."""
    async with session_scope() as session:
        await session.execute(delete(UserSession))


async def expect_sent_to_sign_in(user: User, page: str) -> None:
    await user.should_see(marker="login-submit", retries=RETRIES)
    assert user.back_history[-1] == f"/login?next={page}"


async def test_profile_rename_after_revocation_is_refused(user: User) -> None:
    user_id = await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    await revoke_every_session()
    user.find(marker="profile-name").clear().type("Mallory")
    user.find(marker="save-name").click()
    await expect_sent_to_sign_in(user, "/profile")
    async with session_scope() as session:
        row = await session.get(UserRow, user_id)
    assert row is not None and row.name == "Ada Lovelace"


async def test_profile_delete_account_after_revocation_is_refused(user: User) -> None:
    user_id = await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    user.find(marker="delete-account").click()
    user.find(marker="delete-confirm-email").type("ada@example.com")
    user.find(marker="delete-confirm-password").type(PASSWORD)
    await revoke_every_session()
    user.find(marker="delete-confirm").click()
    await expect_sent_to_sign_in(user, "/profile")
    async with session_scope() as session:
        assert await session.get(UserRow, user_id) is not None


async def test_profile_password_change_after_revocation_is_refused(user: User) -> None:
    await make_user()
    await sign_in(user)
    await user.should_see(marker="profile-title", retries=RETRIES)
    await revoke_every_session()
    user.find(marker="current-password").type("correct horse battery")
    user.find(marker="new-password").type("a password of mallory")
    user.find(marker="change-password").click()
    await expect_sent_to_sign_in(user, "/profile")
    async with session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(UserSession)) == 0


async def test_team_action_after_revocation_is_refused(user: User) -> None:
    await make_user(plan="pro")
    await sign_in(user, next_path="/team")
    await user.should_see(marker="no-team", retries=RETRIES)
    await revoke_every_session()
    user.find(marker="team-name").type("Acme")
    with warnings.catch_warnings():
        # The prepared team action is closed unstarted, never left un-awaited.
        warnings.simplefilter("error", RuntimeWarning)
        user.find(marker="create-team").click()
        await expect_sent_to_sign_in(user, "/team")
    async with session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Team)) == 0


async def test_studio_delete_after_revocation_is_refused(user: User) -> None:
    user_id = await make_user()
    buffer = io.BytesIO()
    Image.fromarray(samples.astronaut()).resize((128, 128)).save(buffer, format="PNG")
    photo = await studio.upload_photo(user_id, data=buffer.getvalue(), filename="astronaut.png")
    await sign_in(user, next_path="/studio")
    await user.should_see(marker="photo-0", retries=RETRIES)
    await revoke_every_session()
    user.find(marker="delete-photo-0").click()
    await expect_sent_to_sign_in(user, "/studio")
    assert [p.id for p in await studio.library_for(user_id)] == [photo.id]
