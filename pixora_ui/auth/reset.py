"""Password reset: a single-use token, stored hashed, valid one hour, mailed as a link.

Asking for a reset gives the same answer, and takes the same path, whether or not the email has
an account: the mail goes out in the background. At most `RESET_MAX_MAILS` requests per email
address within `RESET_WINDOW` are honoured (counted whether or not the address has an account, so the
limit reveals nothing either), so the form cannot be used to flood someone's mailbox. Using the link
sets the new password, uses up every open reset link of the account and signs out every session.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import delete, func, select, update

from db.models import LoginAttempt, PasswordReset, User, as_utc, utcnow
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import lockout, passwords, sessions
from pixora_ui.auth.accounts import normalise_email
from pixora_ui.auth.errors import ResetTokenInvalid
from pixora_ui.settings import get_settings
from pixora_ui.tokens import hash_token

log = logging.getLogger("pixora.auth")

RESET_TTL = timedelta(hours=1)
RESET_MAX_MAILS = 5
RESET_WINDOW = timedelta(minutes=15)


def throttle_key(address: str) -> str:
    """The rate-limit counter of one email address (rows in the lockout table, apart from its keys)."""
    return f"reset:{address}"


def _mail_text(name: str, link: str) -> str:
    greeting = f"Hi {name}," if name else "Hello,"
    return "\n".join(
        [
            greeting,
            "",
            "someone (hopefully you) asked to reset the password of your Pixora account.",
            "Choose a new password here within one hour:",
            "",
            link,
            "",
            "The link works once. If you did not ask for it, ignore this mail: your password stays as it is.",
            "",
            "— Pixora",
        ]
    )


async def request_reset(*, email: str) -> None:
    """Send a reset link if the email has an account; say nothing either way."""
    address = normalise_email(email)
    if not address or len(address) > 320:
        return
    token = secrets.token_urlsafe(32)
    now = utcnow()
    key = throttle_key(address)
    async with session_scope() as session:
        await session.execute(
            delete(LoginAttempt).where(LoginAttempt.key == key, LoginAttempt.created_at <= now - RESET_WINDOW)
        )
        recent = await session.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key == key))
        if (recent or 0) >= RESET_MAX_MAILS:
            log.info("password reset request refused: too many for one address within %s", RESET_WINDOW)
            return
        # Only honoured requests count: a flood of refused ones must not keep the owner locked out for good.
        session.add(LoginAttempt(key=key, created_at=now))
        row = (await session.execute(select(User.id, User.name).where(User.email == address))).first()
        if row is not None:
            session.add(
                PasswordReset(user_id=row[0], token_hash=hash_token(token), created_at=now, expires_at=now + RESET_TTL)
            )
    if row is None:
        return
    link = f"{get_settings().base_url}/reset-password?token={quote(token)}"
    mail.send_in_background(to=address, subject="Reset your Pixora password", text=_mail_text(row[1], link))


async def token_is_valid(token: str | None) -> bool:
    if not token or len(token) > 200:
        return False
    async with session_scope() as session:
        found = await session.scalar(
            select(PasswordReset.id).where(
                PasswordReset.token_hash == hash_token(token),
                PasswordReset.used_at.is_(None),
                PasswordReset.expires_at > utcnow(),
            )
        )
    return found is not None


async def reset_password(*, token: str | None, new_password: str) -> int:
    """Use a reset token: set the password, sign out every session. Returns the user id."""
    if not token or len(token) > 200:
        raise ResetTokenInvalid
    passwords.check_policy(new_password)
    new_hash = await passwords.hash_password(new_password)
    now = utcnow()
    async with session_scope() as session:
        reset = await session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
        if reset is None or reset.used_at is not None or as_utc(reset.expires_at) <= now:
            raise ResetTokenInvalid
        # Conditional update: of two concurrent uses of one link, exactly one wins.
        claimed = await session.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            raise ResetTokenInvalid
        user = await session.get(User, reset.user_id)
        if user is None:
            raise ResetTokenInvalid
        user.password_hash = new_hash
        # Every other open link of this account stops working too.
        await session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        await sessions.revoke_all(session, user_id=user.id)
        await lockout.reset_account(session, email=user.email)
        log.info("password of account %s reset by link", user.id)
        return user.id
