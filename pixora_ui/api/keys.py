"""API keys: create, list, revoke, and authenticate a request's key.

A key is `pix_live_` followed by 43 URL-safe characters (a 256-bit random secret). Only its SHA-256
is stored, with the first characters ("pix_live_AbCd1234") so people can tell their keys apart; the
full key is shown once, when it is made. A key acts as its owner: same credits, plan and team.

    create_key(session, *, user_id, name) -> NewKey          (the only time the secret is known)
    list_keys(session, *, user_id) -> list[KeyView]          live keys, newest first
    revoke_key(session, *, user_id, key_id) -> bool          False when not one of the user's live keys
    authenticate(raw) -> KeyOwner | None                     None for unknown, malformed or revoked keys
    create_key_for_email(email, *, name) -> NewKey           `main.py admin create-api-key`
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import API_KEY_PREFIX, ApiKey, User, as_utc, utcnow
from db.session import session_scope
from pixora_ui.auth.accounts import normalise_email
from pixora_ui.errors import PixoraError

NAME_MAX = 100
KEYS_PER_USER = 50
_SECRET_BYTES = 32  # 256 bits
_VISIBLE_CHARS = 8  # of the secret, after the prefix
_KEY_MAX_LENGTH = 120
# `last used` is written at most this often per key, so busy scripts do not write on every request.
LAST_USED_EVERY = timedelta(seconds=60)


class ApiKeyError(PixoraError):
    """A key cannot be created; the message is safe to show."""


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyView:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class NewKey:
    view: KeyView
    secret: str  # the whole key: shown once, never stored


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyOwner:
    key_id: int
    user_id: int
    email: str


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _view(row: ApiKey) -> KeyView:
    created = as_utc(row.created_at)
    assert created is not None
    return KeyView(
        id=row.id, name=row.name, prefix=row.prefix, created_at=created, last_used_at=as_utc(row.last_used_at)
    )


def clean_key_name(name: str) -> str:
    text = " ".join((name or "").split())[:NAME_MAX].strip()
    return text or "API key"


async def create_key(session: AsyncSession, *, user_id: int, name: str) -> NewKey:
    live = await session.scalars(select(ApiKey.id).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)))
    if len(live.all()) >= KEYS_PER_USER:
        raise ApiKeyError(f"You have {KEYS_PER_USER} keys already. Revoke one you no longer use first.")
    secret = API_KEY_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    row = ApiKey(
        user_id=user_id,
        name=clean_key_name(name),
        prefix=secret[: len(API_KEY_PREFIX) + _VISIBLE_CHARS],
        key_hash=hash_key(secret),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return NewKey(view=_view(row), secret=secret)


async def list_keys(session: AsyncSession, *, user_id: int) -> list[KeyView]:
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return [_view(row) for row in rows.all()]


async def revoke_key(session: AsyncSession, *, user_id: int, key_id: int) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def looks_like_key(raw: str) -> bool:
    return raw.startswith(API_KEY_PREFIX) and len(raw) <= _KEY_MAX_LENGTH and raw.isascii()


async def authenticate(raw: str | None) -> KeyOwner | None:
    """The owner of a live key, recording when it was used (at most once a minute)."""
    if not raw or not looks_like_key(raw):
        return None
    now = utcnow()
    async with session_scope() as session:
        row = (
            await session.execute(
                select(ApiKey.id, ApiKey.last_used_at, User.id, User.email)
                .join(User, User.id == ApiKey.user_id)
                .where(ApiKey.key_hash == hash_key(raw), ApiKey.revoked_at.is_(None))
            )
        ).first()
        if row is None:
            return None
        key_id, last_used, user_id, email = row
        if last_used is None or now - as_utc(last_used) >= LAST_USED_EVERY:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
        return KeyOwner(key_id=key_id, user_id=user_id, email=email)


async def create_key_for_email(email: str, *, name: str) -> NewKey:
    """A new key for the account with this email (ApiKeyError when there is none)."""
    address = normalise_email(email)
    async with session_scope() as session:
        user_id = await session.scalar(select(User.id).where(User.email == address))
        if user_id is None:
            raise ApiKeyError(f"no user with the email {address}")
        return await create_key(session, user_id=user_id, name=name)


# --- for the profile page (one unit of work each) ---------------------------------------------------


async def keys_of(user_id: int) -> list[KeyView]:
    async with session_scope() as session:
        return await list_keys(session, user_id=user_id)


async def make_key(user_id: int, name: str) -> NewKey:
    async with session_scope() as session:
        return await create_key(session, user_id=user_id, name=name)


async def revoke(user_id: int, key_id: int) -> bool:
    async with session_scope() as session:
        return await revoke_key(session, user_id=user_id, key_id=key_id)
