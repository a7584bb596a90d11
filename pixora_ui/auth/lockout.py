"""Sign-in throttling with growing delays (OWASP): per (account, address) pair, per address, and a
ceiling per account that a correct password from a known device still passes.

Each key has one row: how many attempts it has claimed and when the last one was. An attempt first
*claims* a slot on every key in one conditional UPDATE per key (`WHERE` the key is not waiting), in
one transaction; when any key is waiting the transaction rolls back and nothing is counted. So N
parallel attempts can never all be checked: each claim is a write that the database serialises, on
SQLite and PostgreSQL alike. Only then is the password checked (outside the transaction).

The first `free` attempts of a key are immediate; after that each attempt waits 30 s, 60 s, 120 s, …
up to the window (15 minutes), after the previous one. A key quiet for a whole window starts over. A
success undoes the claim: the pair and account keys are cleared, the address key gives back one
attempt (clearing it would let someone reset it by signing in to an account of their own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import LoginThrottle, as_utc, utcnow
from pixora_ui.auth.errors import AccountError
from pixora_ui.settings import get_settings

FIRST_DELAY_S = 30
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


class LockedOut(AccountError):
    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = max(1, wait_seconds)
        if self.wait_seconds < 60:
            when = f"{self.wait_seconds} seconds" if self.wait_seconds > 1 else "a second"
        else:
            minutes = math.ceil(self.wait_seconds / 60)
            when = "a minute" if minutes <= 1 else f"{minutes} minutes"
        super().__init__(f"Too many failed attempts. Try again in {when}.")


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    free: int  # attempts allowed without any wait


def pair_key(email: str, address: str) -> Key:
    return Key(f"pair:{address or 'unknown'}|{email}", get_settings().login_max_failures)


def address_key(address: str) -> Key:
    return Key(f"ip:{address or 'unknown'}", get_settings().login_address_max_failures)


def account_key(email: str) -> Key:
    return Key(f"account:{email}", get_settings().login_account_ceiling)


def password_check_key(user_id: int) -> Key:
    """A signed-in person re-entering their password (profile): limited on its own."""
    return Key(f"recheck:{user_id}", get_settings().login_max_failures)


def _window() -> timedelta:
    return timedelta(minutes=get_settings().login_window_minutes)


def delay_after(attempts: int, free: int) -> timedelta:
    """How long after the last attempt the next is allowed, once `attempts` are counted."""
    if attempts < free:
        return timedelta(0)
    return min(_window(), timedelta(seconds=FIRST_DELAY_S * 2 ** min(attempts - free, 20)))


def _steps(free: int) -> range:
    # Attempt counts whose delay is still below the cap; beyond them the cap applies.
    steps = 0
    while delay_after(free + steps, free) < _window():
        steps += 1
    return range(free, free + steps)


def _allowed(key: Key, now: datetime) -> ColumnElement[bool]:
    """SQL: this key may take another attempt now (no read-then-write race: one conditional UPDATE)."""
    stale = now - _window()
    terms: list[ColumnElement[bool]] = [LoginThrottle.updated_at <= stale, LoginThrottle.attempts < key.free]
    steps = _steps(key.free)
    for attempts in steps:
        terms.append(
            and_(LoginThrottle.attempts == attempts, LoginThrottle.updated_at <= now - delay_after(attempts, key.free))
        )
    # Counts beyond the steps wait the whole window: that is the `stale` term.
    return or_(*terms)


async def _ensure_rows(session: AsyncSession, names: list[str]) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"key": name, "attempts": 0, "updated_at": _LONG_AGO} for name in names]
    await session.execute(insert(LoginThrottle).values(rows).on_conflict_do_nothing(index_elements=["key"]))


async def _wait_seconds(session: AsyncSession, key: Key, now: datetime) -> int:
    row = (
        await session.execute(
            select(LoginThrottle.attempts, LoginThrottle.updated_at).where(LoginThrottle.key == key.name)
        )
    ).first()
    if row is None:
        return 0
    last: datetime = as_utc(row.updated_at)
    until = last + delay_after(int(row.attempts), key.free)
    return max(1, math.ceil((until - now).total_seconds()))


async def claim(session: AsyncSession, keys: list[Key], *, count_of: Key | None = None) -> int:
    """Count one attempt on every key, or none: raises `LockedOut` when any key must wait.

    Returns the attempt count of `count_of` including this one (0 without it). Call in a
    transaction of its own (it is rolled back when refused) and commit before the slow password check."""
    now = utcnow()
    ordered = sorted(keys, key=lambda k: k.name)  # one lock order for every caller (PostgreSQL)
    await _ensure_rows(session, [key.name for key in ordered])
    for key in ordered:
        result = await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key.name, _allowed(key, now))
            .values(
                attempts=case((LoginThrottle.updated_at <= now - _window(), 1), else_=LoginThrottle.attempts + 1),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            # The caller's unit of work rolls back: the keys claimed so far are not counted either.
            raise LockedOut(await _wait_seconds(session, key, now))
    if count_of is None:
        return 0
    return int(await session.scalar(select(LoginThrottle.attempts).where(LoginThrottle.key == count_of.name)) or 0)


async def clear(session: AsyncSession, keys: list[Key]) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([key.name for key in keys])))


async def give_back(session: AsyncSession, key: Key) -> None:
    """Undo one claimed attempt of `key` (a success that must not reset the whole count)."""
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key.name, LoginThrottle.attempts > 0)
        .values(attempts=LoginThrottle.attempts - 1)
        .execution_options(synchronize_session=False)
    )


async def purge(session: AsyncSession) -> None:
    """Forget keys quiet for several windows: they would start over anyway."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < utcnow() - 4 * _window()))


async def reset_account(session: AsyncSession, *, email: str) -> None:
    """The account has proven its password another way (a reset link): its ceiling starts over."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(email).name))
