"""Sign-in lockout: after `login_max_failures` failures for one account or one address within
`login_window_minutes`, further attempts are refused until the oldest counted failure ages out.

A success clears the account's failures only: clearing the address as well would let someone reset
their address counter by signing in to an account of their own between guesses.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import LoginAttempt, as_utc, utcnow
from pixora_ui.auth.errors import AccountError
from pixora_ui.settings import get_settings


class LockedOut(AccountError):
    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = max(1, wait_seconds)
        minutes = math.ceil(self.wait_seconds / 60)
        when = "a minute" if minutes <= 1 else f"{minutes} minutes"
        super().__init__(f"Too many failed attempts. Try again in {when}.")


def account_key(email: str) -> str:
    return f"email:{email}"


def address_key(address: str) -> str:
    return f"ip:{address or 'unknown'}"


def _window() -> timedelta:
    return timedelta(minutes=get_settings().login_window_minutes)


async def wait_seconds(session: AsyncSession, *, keys: list[str]) -> int:
    """Seconds until another attempt is allowed for all `keys` (0 = allowed now)."""
    settings = get_settings()
    now = utcnow()
    since = now - _window()
    longest = 0
    for key in keys:
        times = list(
            await session.scalars(
                select(LoginAttempt.created_at)
                .where(LoginAttempt.key == key, LoginAttempt.created_at > since)
                .order_by(LoginAttempt.created_at.desc())
            )
        )
        if len(times) >= settings.login_max_failures:
            # Allowed again once fewer than the maximum remain within the window.
            pivot = as_utc(times[settings.login_max_failures - 1])
            longest = max(longest, math.ceil((pivot + _window() - now).total_seconds()))
    return longest


def _keys(email: str, address: str | None) -> list[str]:
    # `address` None: an attempt not made from the sign-in form (a profile password check).
    return [account_key(email)] if address is None else [account_key(email), address_key(address)]


async def check(session: AsyncSession, *, email: str, address: str | None) -> None:
    """Raise `LockedOut` (with the wait) when the account or the address has too many failures."""
    wait = await wait_seconds(session, keys=_keys(email, address))
    if wait > 0:
        raise LockedOut(wait)


async def record_failure(session: AsyncSession, *, email: str, address: str | None) -> None:
    now = utcnow()
    session.add_all([LoginAttempt(key=key, created_at=now) for key in _keys(email, address)])
    # Old rows are useless for the window; keep the table small.
    await session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - 4 * _window()))
    await session.flush()


async def reset(session: AsyncSession, *, email: str) -> None:
    await session.execute(delete(LoginAttempt).where(LoginAttempt.key == account_key(email)))
