"""Items 1-3: sign-in throttling that parallel requests cannot bypass, keyed on the address the
trusted proxy reports, with growing delays that never lock the owner out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from db.models import LoginThrottle
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import accounts, devices, lockout, passwords
from pixora_ui.auth.errors import InvalidCredentials
from tests.auth.conftest import PASSWORD, make_user, outbox_mails

pytestmark = pytest.mark.usefixtures("any_db")
WRONG = "not the password at all"


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password that reached bcrypt (the real comparison still runs)."""
    seen: list[str] = []
    real: Callable[[str, str | None], Awaitable[bool]] = passwords.verify_password

    async def counting(password: str, password_hash: str | None) -> bool:
        seen.append(password)
        return await real(password, password_hash)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return seen


async def _attempt(email: str, password: str, address: str, device: str | None = None) -> str:
    try:
        await accounts.sign_in(email=email, password=password, address=address, device=device)
    except lockout.LockedOut:
        return "locked"
    except InvalidCredentials:
        return "wrong"
    return "ok"


async def _age_keys(seconds: float) -> None:
    """Move every counted attempt `seconds` into the past (instead of sleeping through a delay)."""
    async with session_scope() as session:
        rows = list(await session.execute(select(LoginThrottle.key, LoginThrottle.updated_at)))
        for key, updated in rows:
            await session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key)
                .values(updated_at=updated - timedelta(seconds=seconds))
            )


async def test_parallel_wrong_passwords_are_checked_at_most_the_limit(checks: list[str]) -> None:
    await make_user()
    outcomes = await asyncio.gather(*[_attempt("ada@example.com", WRONG, "6.6.6.6") for _ in range(12)])
    assert len(checks) <= 5, f"{len(checks)} of 12 parallel attempts were checked"
    assert outcomes.count("wrong") == len(checks) and outcomes.count("locked") == 12 - len(checks)


async def test_fifty_parallel_attempts_from_many_addresses_stop_at_the_account_ceiling(checks: list[str]) -> None:
    await make_user()
    outcomes = await asyncio.gather(*[_attempt("ada@example.com", WRONG, f"10.1.0.{i}") for i in range(50)])
    assert len(checks) <= 20, f"{len(checks)} of 50 parallel attempts were checked"
    assert outcomes.count("locked") >= 30


async def test_growing_delays_per_pair() -> None:
    await make_user()
    for _ in range(5):
        assert await _attempt("ada@example.com", WRONG, "6.6.6.6") == "wrong"
    with pytest.raises(lockout.LockedOut) as locked:
        await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="6.6.6.6")
    assert 25 <= locked.value.wait_seconds <= 30
    assert "Try again in" in str(locked.value)
    await _age_keys(31)
    assert await _attempt("ada@example.com", WRONG, "6.6.6.6") == "wrong"
    with pytest.raises(lockout.LockedOut) as locked:
        await accounts.sign_in(email="ada@example.com", password=PASSWORD, address="6.6.6.6")
    assert 55 <= locked.value.wait_seconds <= 60  # the delay doubled
    # The owner at another address is not held up by the pair's delays.
    assert await _attempt("ada@example.com", PASSWORD, "7.7.7.7") == "ok"
    # A whole quiet window later the pair starts over.
    await _age_keys(15 * 60)
    assert await _attempt("ada@example.com", PASSWORD, "6.6.6.6") == "ok"


async def test_attackers_fifty_failures_do_not_stop_the_owner(isolated_env: Path) -> None:
    user_id = await make_user()
    known_device = devices.issue(user_id)
    # One attacker address, 50 tries: after 5 each waits longer; nothing spills onto the owner.
    single = [await _attempt("ada@example.com", WRONG, "6.6.6.6") for _ in range(50)]
    assert single.count("wrong") == 5 and single.count("locked") == 45
    assert await _attempt("ada@example.com", PASSWORD, "192.0.2.10") == "ok"
    # A botnet, 50 addresses: the account's ceiling is reached …
    spread = [await _attempt("ada@example.com", WRONG, f"10.2.0.{i}") for i in range(50)]
    assert spread.count("wrong") == 20 and spread.count("locked") == 30
    # … a new device has to wait, the owner's known device signs in at once.
    assert await _attempt("ada@example.com", PASSWORD, "192.0.2.10") == "locked"
    assert await _attempt("ada@example.com", PASSWORD, "192.0.2.10", device=known_device) == "ok"
    # The owner was told, once.
    await mail.drain()
    notices = [m for m in outbox_mails(isolated_env) if "Failed sign-in attempts" in str(m["Subject"])]
    assert len(notices) == 1 and notices[0]["To"] == "ada@example.com"


async def test_a_device_cookie_of_another_account_or_forged_does_not_pass_the_ceiling() -> None:
    user_id = await make_user()
    other = await make_user("eve@example.com")
    for i in range(20):
        assert await _attempt("ada@example.com", WRONG, f"10.3.0.{i}") == "wrong"
    assert await _attempt("ada@example.com", PASSWORD, "192.0.2.9", device=devices.issue(other)) == "locked"
    forged = devices.issue(user_id)[:-2] + "00"
    assert await _attempt("ada@example.com", PASSWORD, "192.0.2.9", device=forged) == "locked"


async def test_one_address_guessing_many_accounts_is_slowed_down() -> None:
    for i in range(20):
        assert await _attempt(f"victim{i}@example.com", WRONG, "6.6.6.6") == "wrong"
    assert await _attempt("victim99@example.com", WRONG, "6.6.6.6") == "locked"
    # Signing in to an account of one's own does not reset the address.
    await make_user("me@example.com")
    await _age_keys(31)
    assert await _attempt("me@example.com", PASSWORD, "6.6.6.6") == "ok"
    assert await _attempt("victim98@example.com", WRONG, "6.6.6.6") == "locked"


async def test_throttle_rows_expire() -> None:
    await _attempt("x@example.com", WRONG, "6.6.6.6")
    await _age_keys(4 * 15 * 60 + 5)
    await _attempt("y@example.com", WRONG, "6.6.6.7")
    async with session_scope() as session:
        keys = set(await session.scalars(select(LoginThrottle.key)))
    assert not any("x@example.com" in key for key in keys) and "ip:6.6.6.6" not in keys
    assert "ip:6.6.6.7" in keys
