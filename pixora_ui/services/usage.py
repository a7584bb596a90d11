"""AI-edit credits: read usage, reserve one atomically, refund it.

A credit is reserved with ONE conditional UPDATE, so concurrent requests can never spend the same
credit twice: the database checks the limit and increments in the same statement. Users without a
limit (Pro, Team) are never charged and their count is left alone. With FREE_MONTHLY_RESET on, a
Free user's count goes back to zero once a month has passed since their period start (also one
conditional UPDATE, so concurrent resets happen once).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from db.models import User, UserSession, utcnow
from db.session import on_commit
from pixora_ui.errors import LIMIT_MESSAGE, VERIFY_MESSAGE, EmailNotVerified, LimitReached, NotFound, PixoraError
from pixora_ui.services import user_events
from pixora_ui.services.plans import Usage
from pixora_ui.settings import get_settings

RESET_PERIOD = timedelta(days=30)

# The limit errors live in pixora_ui.errors (one class for every surface) and stay importable from here.
__all__ = [
    "LIMIT_MESSAGE",
    "RESET_PERIOD",
    "VERIFY_MESSAGE",
    "EmailNotVerified",
    "LimitReached",
    "UnknownUser",
    "UsageError",
    "cached_session_usage",
    "forget_user_usage",
    "get_usage",
    "maybe_reset_period",
    "refund_credit",
    "remember_session_usage",
    "reserve_credit",
]


class UsageError(PixoraError):
    """Base class of usage errors other than the limit itself; the message is safe to show."""


class UnknownUser(UsageError, NotFound):
    def __init__(self) -> None:
        super().__init__("Account not found")


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def maybe_reset_period(session: AsyncSession, *, user_id: int, now: datetime | None = None) -> bool:
    """Start a new monthly period for a Free user whose period is over (when the setting is on)."""
    if not get_settings().free_monthly_reset:
        return False
    current = now or utcnow()
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.usage_limit.is_not(None), User.period_start <= current - RESET_PERIOD)
        .values(usage_count=0, period_start=current)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) == 1:
        _forget_now_and_after_commit(session, user_id)
        return True
    return False


async def get_usage(session: AsyncSession, *, user_id: int) -> Usage:
    await maybe_reset_period(session, user_id=user_id)
    row = (
        await session.execute(select(User.plan, User.usage_count, User.usage_limit).where(User.id == user_id))
    ).one_or_none()
    if row is None:
        raise UnknownUser()
    return Usage(plan=row.plan, used=row.usage_count, limit=row.usage_limit)


async def reserve_credit(session: AsyncSession, *, user_id: int) -> bool:
    """Take one credit. True: charged (refund it if the edit fails); False: the user has no limit.

    Raises LimitReached when a limited user has none left.
    """
    await maybe_reset_period(session, user_id=user_id)
    result = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            User.usage_limit.is_not(None),
            User.usage_count < User.usage_limit,
            User.email_verified.is_(True),  # free edits start once the address is confirmed
        )
        .values(usage_count=User.usage_count + 1)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) == 1:
        _forget_now_and_after_commit(session, user_id)
        return True
    # Nothing updated: either the user has no limit (never charged) or no credit is left.
    limit = (
        await session.execute(select(User.usage_limit, User.email_verified).where(User.id == user_id))
    ).one_or_none()
    if limit is None:
        raise UnknownUser()
    if limit.usage_limit is None:
        return False
    if not limit.email_verified:
        raise EmailNotVerified()
    raise LimitReached()


async def refund_credit(session: AsyncSession, *, user_id: int) -> None:
    """Give one credit back (the caller makes sure each reservation is refunded at most once)."""
    await session.execute(
        update(User)
        .where(User.id == user_id, User.usage_count > 0)
        .values(usage_count=User.usage_count - 1)
        .execution_options(synchronize_session=False)
    )
    _forget_now_and_after_commit(session, user_id)


# --- a very short cache of usage by session token, for the /api/usage poll --------------------------
# The studio and scripts poll /api/usage; reading the session and user for each poll is the whole
# cost of the endpoint. Entries live SESSION_USAGE_TTL_S. Any change to a user or a session made
# through SQLAlchemy in this process (credits, plan changes, sign-out) drops the affected entries at
# once (ORM events below), so answers are exact here; another instance's changes show within the TTL.
# The events watch every session, since any write to users or sessions must drop entries; they are
# installed when the cache first holds an entry, not at import (a worker or the CLI never caches).

SESSION_USAGE_TTL_S = 2.0
_by_token: dict[str, tuple[float, int, Usage]] = {}
_tokens_of_user: dict[int, set[str]] = {}


def cached_session_usage(token: str) -> tuple[int, Usage] | None:
    entry = _by_token.get(token)
    if entry is None:
        return None
    if entry[0] < time.monotonic():
        _drop_token(token)
        return None
    return entry[1], entry[2]


def remember_session_usage(token: str, user_id: int, current: Usage) -> None:
    _watch_user_writes()
    if len(_by_token) > 50_000:
        _by_token.clear()
        _tokens_of_user.clear()
    _by_token[token] = (time.monotonic() + SESSION_USAGE_TTL_S, user_id, current)
    _tokens_of_user.setdefault(user_id, set()).add(token)


def forget_user_usage(user_id: int) -> None:
    for token in _tokens_of_user.pop(user_id, ()):
        _by_token.pop(token, None)


def _drop_token(token: str) -> None:
    entry = _by_token.pop(token, None)
    if entry is not None:
        tokens = _tokens_of_user.get(entry[1])
        if tokens is not None:
            tokens.discard(token)
            if not tokens:
                _tokens_of_user.pop(entry[1], None)


def _forget_now_and_after_commit(session: AsyncSession, user_id: int) -> None:
    forget_user_usage(user_id)
    user_events.changed(session, user_id)  # open pages show the new count once it is committed
    on_commit(session, lambda: forget_user_usage(user_id))


def _forget_on_flush(session: Session, _context: Any) -> None:
    if not _by_token:
        return
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, User):
            forget_user_usage(obj.id)
        elif isinstance(obj, UserSession):
            forget_user_usage(obj.user_id)


def _forget_on_bulk_write(state: ORMExecuteState) -> None:
    if not _by_token or not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in {"users", "sessions"}:
        _by_token.clear()
        _tokens_of_user.clear()


_watching = False


def _watch_user_writes() -> None:
    global _watching  # noqa: PLW0603 - installed once per process
    if _watching:
        return
    _watching = True
    sa_event.listen(Session, "after_flush", _forget_on_flush)
    sa_event.listen(Session, "do_orm_execute", _forget_on_bulk_write)
