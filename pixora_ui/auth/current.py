"""Who is signed in: one query joining the session and its user, read fresh on every request.

Plan and usage come from the users row, so a plan change or a spent credit is visible on the next
request without any cache to invalidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException, Request
from sqlalchemy import select, update

from db.models import User, UserSession, as_utc, utcnow
from db.session import session_scope
from pixora_ui.auth.sessions import SESSION_COOKIE, SLIDE_EVERY, absolute_lifetime, session_lifetime
from pixora_ui.services.plans import Usage
from pixora_ui.tokens import hash_token

__all__ = ["SESSION_COOKIE", "CurrentUser", "current_user", "current_user_from_token", "require_user"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CurrentUser:
    """The signed-in person as plain data (safe to keep in a page; never an ORM object)."""

    id: int
    email: str
    name: str
    plan: str
    usage_count: int
    usage_limit: int | None
    avatar_url: str | None
    is_admin: bool
    team_id: int | None
    role: str | None
    session_id: int
    payment_warning: bool
    has_password: bool
    has_google: bool
    created_at: datetime
    email_verified: bool = True

    @property
    def usage(self) -> Usage:
        return Usage(plan=self.plan, used=self.usage_count, limit=self.usage_limit)


async def current_user_from_token(token: str | None) -> CurrentUser | None:
    """The user behind a raw session token, or None when it is missing, unknown or expired."""
    if not token or len(token) > 200:
        return None
    now = utcnow()
    async with session_scope() as session:
        row = (
            await session.execute(
                select(UserSession.id, UserSession.last_seen_at, UserSession.created_at, User)
                .join(User, User.id == UserSession.user_id)
                .where(
                    UserSession.token_hash == hash_token(token),
                    UserSession.expires_at > now,
                    # However active, a session ends `session_max_days` after its sign-in.
                    UserSession.created_at > now - absolute_lifetime(),
                )
            )
        ).first()
        if row is None:
            return None
        session_id, last_seen, created, user = row
        if now - as_utc(last_seen) >= SLIDE_EVERY:
            expires = min(now + session_lifetime(), as_utc(created) + absolute_lifetime())
            await session.execute(
                update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now, expires_at=expires)
            )
        return CurrentUser(
            id=user.id,
            email=user.email,
            name=user.name,
            plan=user.plan,
            usage_count=user.usage_count,
            usage_limit=user.usage_limit,
            avatar_url=user.avatar_url,
            is_admin=user.is_admin,
            team_id=user.team_id,
            role=user.role,
            session_id=session_id,
            payment_warning=user.payment_warning,
            has_password=user.password_hash is not None,
            has_google=user.google_sub is not None,
            created_at=as_utc(user.created_at),
            email_verified=user.email_verified,
        )


async def current_user(request: Request) -> CurrentUser | None:
    """The signed-in user of this request, or None for an anonymous visitor.

    Not cached: a page event handler calling this with the page's request gets fresh plan and usage,
    and sees a session revoked elsewhere."""
    return await current_user_from_token(request.cookies.get(SESSION_COOKIE))


async def require_user(request: Request) -> CurrentUser:
    """FastAPI dependency for JSON API routes: the user, or a JSON 401."""
    user = await current_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail={"error": "unauthorized", "message": "Sign in first"})
    return user
