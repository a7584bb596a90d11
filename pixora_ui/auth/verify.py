"""E-mail verification for password sign-ups: free AI edits start once the address is confirmed.

The link carries a signed token (user id, expiry, and an HMAC over both and the address), valid two
days. Opening it confirms the address with a conditional update and signs that browser in; a link
whose address is already confirmed (or expired, or forged) only sends to the sign-in page, so a
leaked old link signs nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from urllib.parse import quote

from sqlalchemy import select, update

from db.models import User
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import lockout
from pixora_ui.services import usage
from pixora_ui.settings import get_settings

log = logging.getLogger("pixora.auth")

TOKEN_TTL_S = 48 * 3600
RESEND_FREE = 3  # links a person may ask for again before waiting


def _signature(user_id: int, expires: int, email: str) -> str:
    key = hashlib.sha256(b"pixora-verify:" + get_settings().session_secret.encode()).digest()
    return hmac.new(key, f"{user_id}.{expires}.{email}".encode(), hashlib.sha256).hexdigest()[:48]


def issue_token(user_id: int, email: str, *, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + TOKEN_TTL_S
    return f"{user_id}.{expires}.{_signature(user_id, expires, email)}"


def _parse(token: str) -> tuple[int, int, str] | None:
    parts = token.split(".")
    if len(token) > 200 or len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def verification_link(user_id: int, email: str) -> str:
    return f"{get_settings().base_url}/verify-email?token={quote(issue_token(user_id, email))}"


def _mail_text(name: str, link: str) -> str:
    free = get_settings().free_edit_limit
    greeting = f"Hi {name}," if name else "Hello,"
    return "\n".join(
        [
            greeting,
            "",
            "welcome to Pixora. Please confirm your e-mail address by opening this link within two days:",
            "",
            link,
            "",
            f"Your {free} free AI edits start as soon as the address is confirmed.",
            "If you did not create a Pixora account, ignore this mail and nothing will happen.",
            "",
            "— Pixora",
        ]
    )


def send_link(*, user_id: int, email: str, name: str) -> None:
    mail.send_in_background(
        to=email,
        subject="Confirm your e-mail address for Pixora",
        text=_mail_text(name, verification_link(user_id, email)),
    )


async def confirm(token: str | None) -> int | None:
    """Confirm the address behind `token`: the user id when this call confirmed it, else None."""
    parsed = _parse(token or "")
    if parsed is None:
        return None
    user_id, expires, signature = parsed
    if expires < time.time():
        return None
    async with session_scope() as session:
        email = await session.scalar(select(User.email).where(User.id == user_id))
        if email is None or not hmac.compare_digest(_signature(user_id, expires, email), signature):
            return None
        result = await session.execute(
            update(User)
            .where(User.id == user_id, User.email_verified.is_(False))
            .values(email_verified=True)
            .execution_options(synchronize_session=False)
        )
        confirmed = getattr(result, "rowcount", 0) == 1
    if confirmed:
        usage.forget_user_usage(user_id)
        log.info("account %s confirmed its e-mail address", user_id)
    return user_id if confirmed else None


async def resend(*, user_id: int) -> bool:
    """Send the link again (False when the address is already confirmed). Raises `LockedOut` when
    asked too often."""
    async with session_scope() as session:
        row = (
            await session.execute(select(User.email, User.name, User.email_verified).where(User.id == user_id))
        ).first()
        if row is None or row.email_verified:
            return False
        await lockout.claim(session, [lockout.Key(f"verify-mail:{user_id}", RESEND_FREE)])
    send_link(user_id=user_id, email=row.email, name=row.name)
    return True
