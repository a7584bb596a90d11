"""E-mail verification for password sign-ups: free AI edits start once the address is confirmed.

The link carries a signed token (user id, expiry, and an HMAC over both and the address), valid two
days. Opening it confirms the address with a conditional update and signs that browser in; a link
whose address is already confirmed (or expired, or forged) only sends to the sign-in page, so a
leaked old link signs nobody in.

A person who signs up from a team invitation (with the invited address) gets a link that also
carries the invitation's key (the hash the database keeps, never the raw token), covered by the
same HMAC: opening the link on any device joins the team (pixora_ui/auth/invitations.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select, update

from db.models import User
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import lockout
from pixora_ui.services import usage
from pixora_ui.services.teams import is_invitation_key, open_invitation_for
from pixora_ui.settings import get_settings

log = logging.getLogger("pixora.auth")

TOKEN_TTL_S = 48 * 3600
RESEND_FREE = 3  # links a person may ask for again before waiting


@dataclass(frozen=True, kw_only=True, slots=True)
class Confirmed:
    user_id: int
    invitation: str | None  # the key of the team invitation the sign-up came from, if any


@dataclass(frozen=True, kw_only=True, slots=True)
class _Parsed:
    user_id: int
    expires: int
    invitation: str
    signature: str


def _signature(user_id: int, expires: int, email: str, invitation: str = "") -> str:
    key = hashlib.sha256(b"pixora-verify:" + get_settings().session_secret.encode()).digest()
    # Without an invitation the signed text is what links have always signed, so older links still work.
    message = f"{user_id}.{expires}.{email}" + (f".{invitation}" if invitation else "")
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:48]


def issue_token(user_id: int, email: str, *, invitation: str | None = None, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + TOKEN_TTL_S
    if invitation:
        if not is_invitation_key(invitation):
            raise ValueError("not an invitation key")
        return f"{user_id}.{expires}.{invitation}.{_signature(user_id, expires, email, invitation)}"
    return f"{user_id}.{expires}.{_signature(user_id, expires, email)}"


def _parse(token: str) -> _Parsed | None:
    parts = token.split(".")
    if len(token) > 200 or len(parts) not in {3, 4} or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    invitation = parts[2] if len(parts) == 4 else ""
    if invitation and not is_invitation_key(invitation):
        return None
    return _Parsed(user_id=int(parts[0]), expires=int(parts[1]), invitation=invitation, signature=parts[-1])


def verification_link(user_id: int, email: str, *, invitation: str | None = None) -> str:
    token = issue_token(user_id, email, invitation=invitation)
    return f"{get_settings().base_url}/verify-email?token={quote(token)}"


def _mail_text(name: str, link: str, *, team: str | None) -> str:
    free = get_settings().free_edit_limit
    greeting = f"Hi {name}," if name else "Hello,"
    after = (
        f"Opening it also accepts your invitation: you join {team} right away."
        if team is not None
        else f"Your {free} free AI edits start as soon as the address is confirmed."
    )
    return "\n".join(
        [
            greeting,
            "",
            "welcome to Pixora. Please confirm your e-mail address by opening this link within two days:",
            "",
            link,
            "",
            after,
            "If you did not create a Pixora account, ignore this mail and nothing will happen.",
            "",
            "— Pixora",
        ]
    )


def send_link(*, user_id: int, email: str, name: str, invitation: str | None = None, team: str | None = None) -> None:
    """Mail the confirmation link; with `invitation` (a key, for the team named `team`) the link
    also joins that team once opened."""
    mail.send_in_background(
        to=email,
        subject="Confirm your e-mail address for Pixora",
        text=_mail_text(
            name,
            verification_link(user_id, email, invitation=invitation),
            team=(team or "the team") if invitation else None,
        ),
    )


async def confirm(token: str | None) -> int | None:
    """Confirm the address behind `token`: the user id when this call confirmed it, else None."""
    confirmed = await confirm_link(token)
    return confirmed.user_id if confirmed is not None else None


async def confirm_link(token: str | None) -> Confirmed | None:
    """Confirm the address behind `token`: who, and the invitation the link carries, when this call
    confirmed it; else None (expired, forged, or already confirmed)."""
    parsed = _parse(token or "")
    if parsed is None:
        return None
    user_id, expires = parsed.user_id, parsed.expires
    if expires < time.time():
        return None
    async with session_scope() as session:
        email = await session.scalar(select(User.email).where(User.id == user_id))
        expected = _signature(user_id, expires, email, parsed.invitation) if email is not None else ""
        if email is None or not hmac.compare_digest(expected, parsed.signature):
            return None
        result = await session.execute(
            update(User)
            .where(User.id == user_id, User.email_verified.is_(False))
            .values(email_verified=True)
            .execution_options(synchronize_session=False)
        )
        confirmed = getattr(result, "rowcount", 0) == 1
    if not confirmed:
        return None
    usage.forget_user_usage(user_id)
    log.info("account %s confirmed its e-mail address", user_id)
    return Confirmed(user_id=user_id, invitation=parsed.invitation or None)


async def resend(*, user_id: int) -> bool:
    """Send the link again (False when the address is already confirmed). Raises `LockedOut` when
    asked too often. A live team invitation to the address rides in the new link as in the first."""
    async with session_scope() as session:
        row = (
            await session.execute(select(User.email, User.name, User.email_verified).where(User.id == user_id))
        ).first()
        if row is None or row.email_verified:
            return False
        await lockout.claim(session, [lockout.Key(f"verify-mail:{user_id}", RESEND_FREE)])
        invited = await open_invitation_for(session, email=row.email)
    send_link(
        user_id=user_id,
        email=row.email,
        name=row.name,
        invitation=invited.key if invited else None,
        team=invited.team_name if invited else None,
    )
    return True
