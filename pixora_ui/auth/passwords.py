"""bcrypt password hashing, always off the event loop.

Unknown emails are checked against a dummy hash of the same cost, so "no such account" and "wrong
password" take the same path and the same time. Hashes with a lower cost than the current setting
are re-hashed at the next successful sign-in.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

import bcrypt

from pixora_ui.auth.errors import AccountError
from pixora_ui.settings import get_settings

MIN_LENGTH = 10
MAX_BYTES = 72  # bcrypt ignores everything after 72 bytes; refuse rather than silently truncate


class PasswordPolicyError(AccountError):
    """A password that may not be used; the message is safe to show."""


def check_policy(password: str) -> None:
    if "\x00" in password:
        raise PasswordPolicyError("Your password contains a character that cannot be used.")
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"Use at least {MIN_LENGTH} characters for your password.")
    if len(password.encode()) > MAX_BYTES:
        raise PasswordPolicyError(f"Use at most {MAX_BYTES} bytes for your password.")


def _hash_sync(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def _verify_sync(password: str, password_hash: str) -> bool:
    encoded = password.encode()
    if len(encoded) > MAX_BYTES:
        # Still do one bcrypt comparison so an over-long password costs the same time.
        bcrypt.checkpw(b"x", _dummy_hash(get_settings().bcrypt_rounds).encode())
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode())
    except ValueError:
        return False


@cache
def _dummy_hash(rounds: int) -> str:
    return _hash_sync(secrets.token_urlsafe(24), rounds)


async def hash_password(password: str) -> str:
    """Hash with the configured cost (BCRYPT_ROUNDS, 12 by default) in a worker thread."""
    return await asyncio.to_thread(_hash_sync, password, get_settings().bcrypt_rounds)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Compare in a worker thread. A missing hash (unknown email, Google-only account) is compared
    against a dummy hash of the same cost and is never a match."""
    if password_hash is None:
        dummy = await asyncio.to_thread(_dummy_hash, get_settings().bcrypt_rounds)
        await asyncio.to_thread(_verify_sync, password, dummy)
        return False
    return await asyncio.to_thread(_verify_sync, password, password_hash)


def hash_cost(password_hash: str) -> int:
    """The cost factor of a bcrypt hash ("$2b$12$..." → 12); 0 when it cannot be read."""
    parts = password_hash.split("$")
    try:
        return int(parts[2])
    except (IndexError, ValueError):
        return 0


def needs_rehash(password_hash: str) -> bool:
    return hash_cost(password_hash) < get_settings().bcrypt_rounds
