"""Password-reset mails are rate limited per email address, without revealing whether it has an account."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from nicegui.testing import User
from sqlalchemy import func, select, update

from db.models import LoginAttempt, PasswordReset, utcnow
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import reset
from tests.auth.conftest import RETRIES, make_user, outbox_mails

# The /forgot-password answer (importing the page module here would register its route too early).
SENT_MESSAGE = "If an account exists for that email, we've sent a link to reset the password."


async def counted(address: str) -> int:
    async with session_scope() as session:
        key = reset.throttle_key(address)
        return int(
            await session.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key == key)) or 0
        )


async def age_counters(by: timedelta) -> None:
    async with session_scope() as session:
        await session.execute(update(LoginAttempt).values(created_at=utcnow() - by))


async def test_at_most_five_mails_per_address_per_window(isolated_env: Path) -> None:
    await make_user()
    await make_user("bob@example.com")
    for _ in range(reset.RESET_MAX_MAILS + 3):
        assert await reset.request_reset(email="ada@example.com") is None
    await mail.drain()
    assert len(outbox_mails(isolated_env)) == reset.RESET_MAX_MAILS
    async with session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(PasswordReset)) == reset.RESET_MAX_MAILS
    # Refused requests are not counted, so a flood cannot keep the owner out beyond one window.
    assert await counted("ada@example.com") == reset.RESET_MAX_MAILS

    # Another address has its own counter (and a differently written address is the same one).
    await reset.request_reset(email="bob@example.com")
    await reset.request_reset(email=" ADA@Example.com ")
    await mail.drain()
    assert [m["To"] for m in outbox_mails(isolated_env)].count("bob@example.com") == 1
    assert len(outbox_mails(isolated_env)) == reset.RESET_MAX_MAILS + 1

    # Once the window has passed, a new mail goes out and the old counters are cleaned up.
    await age_counters(reset.RESET_WINDOW + timedelta(seconds=1))
    await reset.request_reset(email="ada@example.com")
    await mail.drain()
    assert len(outbox_mails(isolated_env)) == reset.RESET_MAX_MAILS + 2
    assert await counted("ada@example.com") == 1


async def test_unknown_addresses_are_counted_the_same_way(isolated_env: Path) -> None:
    # Same bookkeeping whether or not the address has an account: the limit itself tells nothing.
    for _ in range(reset.RESET_MAX_MAILS + 2):
        assert await reset.request_reset(email="nobody@example.com") is None
    assert await counted("nobody@example.com") == reset.RESET_MAX_MAILS
    await mail.drain()
    assert outbox_mails(isolated_env) == []


async def test_throttled_page_answer_is_unchanged(user: User, isolated_env: Path) -> None:
    await make_user()
    for _ in range(reset.RESET_MAX_MAILS):
        await reset.request_reset(email="ada@example.com")
    await mail.drain()
    for address in ("ada@example.com", "nobody@example.com"):
        await user.open("/forgot-password")
        user.find(marker="email").type(address)
        user.find(marker="reset-submit").click()
        await user.should_see(SENT_MESSAGE, retries=RETRIES)
    await mail.drain()
    assert len(outbox_mails(isolated_env)) == reset.RESET_MAX_MAILS
