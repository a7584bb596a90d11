"""Server-side sessions: a random 256-bit token in an HttpOnly cookie, only its SHA-256 in the database.

A new token is issued at every sign-in (no fixation). Sessions expire after `session_days` without
use, and `session_max_days` after the sign-in in any case; `current_user` slides the expiry forward at
most once per `SLIDE_EVERY` so a busy page does not write on every request.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from db.models import UserSession, utcnow
from pixora_ui.settings import get_settings
from pixora_ui.tokens import hash_token

SESSION_COOKIE = "pixora_session"
SLIDE_EVERY = timedelta(hours=1)


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 32 random bytes = 256 bits


def session_lifetime() -> timedelta:
    return timedelta(days=get_settings().session_days)


def absolute_lifetime() -> timedelta:
    """The longest a session lives from its sign-in, however active (a stolen cookie stops somewhere)."""
    return timedelta(days=get_settings().session_max_days)


async def create_session(session: AsyncSession, *, user_id: int, user_agent: str = "", ip: str = "") -> str:
    """Store a new session for `user_id` and return the raw token (to be put in the cookie only)."""
    token = new_token()
    now = utcnow()
    session.add(
        UserSession(
            token_hash=hash_token(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + session_lifetime(),
            user_agent=user_agent[:300],
            ip=ip[:64],
        )
    )
    await session.flush()
    return token


async def revoke_token(session: AsyncSession, *, token: str) -> None:
    """Sign-out: forget the session behind `token` (no error when it is already gone)."""
    await session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token)))


async def revoke_all(session: AsyncSession, *, user_id: int, except_session_id: int | None = None) -> int:
    """Sign the user out everywhere (optionally keeping one session). Returns how many were revoked."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if except_session_id is not None:
        statement = statement.where(UserSession.id != except_session_id)
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(session: AsyncSession) -> None:
    await session.execute(delete(UserSession).where(UserSession.expires_at < utcnow()))


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(session_lifetime().total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def clear_session_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies)
