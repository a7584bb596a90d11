"""Account operations behind the pages: sign-up, sign-in, Google accounts, profile, deletion.

The top-level functions open their own unit of work (`session_scope()`), so pages call them
directly; bcrypt runs outside any database transaction, and a failed sign-in is recorded in a
committed transaction before the error is raised.

One module on purpose: it is the pages' facade for accounts, each function one unit of work over
the small modules beside it (passwords, sessions, lockout, tickets, verify, devices).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from db.models import PLAN_FREE, ROLE_OWNER, PasswordReset, User, UserSession, as_utc, utcnow
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.auth import devices, lockout, passwords, sessions, tickets, verify
from pixora_ui.auth.errors import AccountError, EmailTaken, GoogleSignInError, InvalidCredentials, InvalidEmail
from pixora_ui.auth.redirects import safe_next
from pixora_ui.billing.checkout import cancel_subscription_for_user
from pixora_ui.billing.errors import BillingError
from pixora_ui.services.assets import delete_all_assets
from pixora_ui.services.plans import apply_plan
from pixora_ui.services.teams import delete_team, describe_invitation_by_key
from pixora_ui.settings import get_settings

log = logging.getLogger("pixora.auth")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 120


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def validate_email(raw: str) -> str:
    email = normalise_email(raw)
    if len(email) > 320 or not email.isprintable() or not _EMAIL.match(email):
        raise InvalidEmail
    return email


def clean_name(raw: str) -> str:
    # Control characters (NUL above all: PostgreSQL refuses it) never belong in a name.
    printable = "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(printable.split())[:MAX_NAME]


def client_address(request: Request | None) -> str:
    if request is None or request.client is None:
        return ""
    return request.client.host


def browser_id(request: Request) -> str:
    """NiceGUI's per-browser id from its signed session cookie ("" when there is none)."""
    if "session" not in request.scope:
        return ""
    value = request.session.get("id")
    return value if isinstance(value, str) else ""


def handover_url(request: Request, *, user_id: int, next_path: str | None) -> str:
    """A URL (valid 30 s, once, for this browser only) that sets the session cookie and goes on to `next`."""
    ticket = tickets.issue(
        kind="sign_in", user_id=user_id, browser_id=browser_id(request), next_path=safe_next(next_path)
    )
    return f"/auth/session?ticket={ticket}"


async def begin_sign_out(request: Request) -> str:
    """Revoke the page's session now and return the URL that clears the cookie in the browser.

    The URL carries a one-time ticket bound to this browser, so no other site can sign anyone out."""
    await sign_out(token=request.cookies.get(sessions.SESSION_COOKIE))
    browser = browser_id(request)
    if not browser:
        return "/logout"
    return "/logout?ticket=" + tickets.issue(kind="sign_out", user_id=0, browser_id=browser, next_path="/")


# --- creating users ---------------------------------------------------------------------------


async def create_password_user(
    session: AsyncSession,
    *,
    email: str,
    password_hash: str,
    name: str,
    plan: str = PLAN_FREE,
    is_admin: bool = False,
    verified: bool = True,
) -> User:
    """Insert a user with a password (the email must already be validated). Accounts made by an
    administrator are verified; `sign_up` passes `verified=False` until the link is opened."""
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken
    user = User(
        email=email, name=clean_name(name), password_hash=password_hash, is_admin=is_admin, email_verified=verified
    )
    apply_plan(user, plan, get_settings())
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise EmailTaken from exc
    return user


def signup_key(address: str) -> lockout.Key:
    return lockout.Key(f"signup:{address or 'unknown'}", get_settings().signup_address_max)


async def sign_up(*, email: str, password: str, name: str, address: str, invitation: str | None = None) -> int | None:
    """Create a Free account with a password, unverified, and mail it a confirmation link.

    The caller shows one answer whatever happens here: when the email already has an account, no
    account is made and its owner gets a mail instead (the id returned is then None, for tests and
    the log only). Cheap checks come first; bcrypt runs for both cases (same time), and at most
    `signup_address_max` sign-ups per address are taken before each further one waits.

    `invitation` is the key of the team invitation the sign-up comes from: when the address is the
    invited one, the confirmation link carries it and joins the team once opened. Another address
    gets an ordinary link (an invitation belongs to the address it was sent to).
    """
    address_email = validate_email(email)
    passwords.check_policy(password)
    async with session_scope() as session:
        await lockout.claim(session, [signup_key(address)])
    password_hash = await passwords.hash_password(password)
    async with session_scope() as session:
        try:
            user = await create_password_user(
                session, email=address_email, password_hash=password_hash, name=name, verified=False
            )
            user_id: int | None = user.id
        except EmailTaken:
            user_id = None
        if user_id is None:
            owner = (await session.execute(select(User.name).where(User.email == address_email))).first()
        invited = await describe_invitation_by_key(session, key=invitation) if invitation else None
    if user_id is None:
        _mail_existing_owner(email=address_email, name=owner[0] if owner else "")
        return None
    if invited is not None and (invited.expired or invited.email != address_email):
        invited = None
    verify.send_link(
        user_id=user_id,
        email=address_email,
        name=clean_name(name),
        invitation=invited.key if invited else None,
        team=invited.team_name if invited else None,
    )
    return user_id


def _mail_existing_owner(*, email: str, name: str) -> None:
    greeting = f"Hi {name}," if name else "Hello,"
    link = f"{get_settings().base_url}/login"
    text = "\n".join(
        [
            greeting,
            "",
            "someone (hopefully you) tried to create a Pixora account with this address, but you already have one.",
            f"Sign in here: {link}",
            f"Forgot the password? Choose a new one: {get_settings().base_url}/forgot-password",
            "",
            "If it was not you, ignore this mail: nothing has changed.",
            "",
            "— Pixora",
        ]
    )
    mail.send_in_background(to=email, subject="You already have a Pixora account", text=text)


# --- signing in -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class _Candidate:
    user_id: int | None
    password_hash: str | None


_UNKNOWN = _Candidate(user_id=None, password_hash=None)


async def sign_in(*, email: str, password: str, address: str, device: str | None = None) -> int:
    """Check email and password; the user id on success.

    Raises `LockedOut` (with the wait) or `InvalidCredentials` (one message for unknown email and
    wrong password; an unknown email is compared against a dummy hash, so both take the same path).
    `device` is the browser's known-device cookie: with one for this account, the account's ceiling
    of failures (reached by strangers guessing) does not apply.
    """
    email = normalise_email(email)
    if not email or len(email) > 320 or not email.isprintable() or len(password) > 1024:
        # Cheap checks first: nothing here can be an account, and no database is asked.
        raise InvalidCredentials
    async with session_scope() as session:
        row = (await session.execute(select(User.id, User.password_hash).where(User.email == email))).first()
        candidate = _Candidate(user_id=row[0], password_hash=row[1]) if row else _UNKNOWN
        keys = [lockout.pair_key(email, address), lockout.address_key(address)]
        known = candidate.user_id is not None and devices.is_known(device, user_id=candidate.user_id)
        account = None if known else lockout.account_key(email)
        account_attempts = await lockout.claim(session, [*keys, account] if account else keys, count_of=account)
    ok = await passwords.verify_password(password, candidate.password_hash)
    if not ok or candidate.user_id is None:
        async with session_scope() as session:
            await lockout.purge(session)
        if account is not None and account_attempts == get_settings().login_account_ceiling:
            await _notify_suspicious_attempts(email=email)
        raise InvalidCredentials
    rehash = candidate.password_hash is not None and passwords.needs_rehash(candidate.password_hash)
    new_hash = await passwords.hash_password(password) if rehash else None
    async with session_scope() as session:
        await lockout.clear(session, [lockout.pair_key(email, address), lockout.account_key(email)])
        await lockout.give_back(session, lockout.address_key(address))
        if new_hash is not None:
            user = await session.get(User, candidate.user_id)
            if user is not None and user.password_hash == candidate.password_hash:
                user.password_hash = new_hash
    return candidate.user_id


async def _notify_suspicious_attempts(*, email: str) -> None:
    """Tell the owner (once per burst: when the ceiling is reached) that someone is guessing."""
    async with session_scope() as session:
        name = await session.scalar(select(User.name).where(User.email == email))
    if name is None:
        return
    greeting = f"Hi {name}," if name else "Hello,"
    text = "\n".join(
        [
            greeting,
            "",
            "someone has tried many wrong passwords for your Pixora account in the last few minutes.",
            "Your account is safe: you can still sign in from a device you have used before, and others",
            "have to wait a while between attempts.",
            "",
            "If it was not you, consider choosing a new, longer password on your profile page.",
            "",
            "— Pixora",
        ]
    )
    log.warning("sign-in ceiling reached for an account: notice mailed to its owner")
    mail.send_in_background(to=email, subject="Failed sign-in attempts on your Pixora account", text=text)


async def start_session(*, user_id: int, user_agent: str, ip: str, replaces: str | None) -> str | None:
    """A new session token for `user_id` (None if the user no longer exists). The session in
    `replaces` (the browser's old cookie) is revoked: every sign-in gets a fresh token."""
    async with session_scope() as session:
        if replaces:
            await sessions.revoke_token(session, token=replaces)
        if await session.get(User, user_id) is None:
            return None
        await sessions.purge_expired(session)
        return await sessions.create_session(session, user_id=user_id, user_agent=user_agent, ip=ip)


# --- Google -----------------------------------------------------------------------------------


def _picture(url: str | None) -> str | None:
    """Only an https picture URL of sensible length is kept."""
    return url if url and url.startswith("https://") and len(url) <= 1000 else None


async def google_account(
    session: AsyncSession,
    *,
    sub: str,
    email: str | None,
    email_verified: bool,
    name: str | None,
    picture: str | None,
) -> User:
    """The user for verified Google claims: found by subject, linked by verified email, or created (Free)."""
    if not sub:
        raise GoogleSignInError("Google did not identify the account.")
    user: User | None = await session.scalar(select(User).where(User.google_sub == sub))
    if user is not None:
        if _picture(picture) and user.avatar_url != _picture(picture):
            user.avatar_url = _picture(picture)
        return user
    if not email or not email_verified:
        raise GoogleSignInError(
            "Your Google email address is not verified, so it cannot be used to sign in.", code="google_unverified"
        )
    address = validate_email(email)
    user = await session.scalar(select(User).where(User.email == address))
    if user is not None:
        if user.google_sub is not None:
            raise GoogleSignInError(
                "This email is already linked to a different Google account.", code="google_conflict"
            )
        # Google has verified the address, so the existing account is the same person: link, don't duplicate.
        if user.password_hash is not None:
            # Sign-up never proves the email, so the password may be a squatter's (pre-account takeover):
            # only the verified owner keeps access. They can set a new password on /profile.
            user.password_hash = None
            revoked = await sessions.revoke_all(session, user_id=user.id)
            log.warning(
                "account %s linked to Google by its verified email: password cleared, %s session(s) revoked",
                user.id,
                revoked,
            )
        user.google_sub = sub
        user.email_verified = True  # Google has verified the address
        if not user.avatar_url:
            user.avatar_url = _picture(picture)
        if not user.name and name:
            user.name = clean_name(name)
        await session.flush()
        return user
    user = User(email=address, name=clean_name(name or ""), google_sub=sub, avatar_url=_picture(picture))
    apply_plan(user, PLAN_FREE, get_settings())
    session.add(user)
    await session.flush()
    return user


# --- profile ----------------------------------------------------------------------------------


async def update_name(*, user_id: int, name: str) -> str:
    cleaned = clean_name(name)
    async with session_scope() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise AccountError("This account no longer exists.")
        user.name = cleaned
    return cleaned


async def change_password(*, user_id: int, current_password: str, new_password: str, keep_session_id: int) -> int:
    """Set a new password and sign out every other session; returns how many were signed out.

    The current password is required when the account has one (a Google-only account sets its first
    password while signed in)."""
    passwords.check_policy(new_password)
    async with session_scope() as session:
        row = (await session.execute(select(User.email, User.password_hash).where(User.id == user_id))).first()
    if row is None:
        raise AccountError("This account no longer exists.")
    _email, old_hash = row
    if old_hash is not None:
        await check_current_password(user_id=user_id, password=current_password, password_hash=old_hash)
    new_hash = await passwords.hash_password(new_password)
    async with session_scope() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise AccountError("This account no longer exists.")
        user.password_hash = new_hash
        # A reset link mailed before the change must not undo it.
        await session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return await sessions.revoke_all(session, user_id=user_id, except_session_id=keep_session_id)


async def check_current_password(*, user_id: int, password: str, password_hash: str) -> None:
    """A signed-in person re-enters their password; limited like sign-in attempts."""
    async with session_scope() as session:
        await lockout.claim(session, [lockout.password_check_key(user_id)])
    if not await passwords.verify_password(password, password_hash):
        raise AccountError("Your current password is not correct.")
    async with session_scope() as session:
        await lockout.clear(session, [lockout.password_check_key(user_id)])


async def sign_out(*, token: str | None) -> None:
    if token:
        async with session_scope() as session:
            await sessions.revoke_token(session, token=token)


async def sign_out_everywhere(*, user_id: int) -> int:
    async with session_scope() as session:
        return await sessions.revoke_all(session, user_id=user_id)


# --- deletion ---------------------------------------------------------------------------------


async def _cancel_subscription(session: AsyncSession, *, user: User) -> None:
    try:
        await cancel_subscription_for_user(session, user=user)
    except BillingError as exc:
        # Never delete an account that would go on being billed.
        raise AccountError(str(exc)) from exc


FRESH_SIGN_IN = timedelta(minutes=15)


async def confirm_identity(*, user_id: int, session_id: int, password: str) -> None:
    """Re-authentication before something that cannot be undone (deleting the account).

    With a password: the password (limited like sign-in). Without one (Google only): a sign-in made
    within the last 15 minutes. Raises `AccountError` with what to do."""
    async with session_scope() as session:
        row = (await session.execute(select(User.password_hash).where(User.id == user_id))).first()
        started = await session.scalar(
            select(UserSession.created_at).where(UserSession.id == session_id, UserSession.user_id == user_id)
        )
    if row is None or started is None:
        raise AccountError("Your session has ended. Sign in again.")
    if row[0] is not None:
        if not password:
            raise AccountError("Enter your password to confirm.")
        await check_current_password(user_id=user_id, password=password, password_hash=row[0])
        return
    if utcnow() - as_utc(started) > FRESH_SIGN_IN:
        raise AccountError("For your safety, sign out and sign in again with Google, then delete the account.")


async def delete_account(*, user_id: int) -> None:
    """Cancel a paid subscription, remove the user's files, then the user (sessions, resets, assets
    and jobs go with it by cascade)."""
    async with session_scope() as session:
        user = await session.get(User, user_id)
        if user is None:
            return
        await _cancel_subscription(session, user=user)
    async with session_scope() as session:
        await delete_all_assets(session, owner_id=user_id)
        owner = await session.get(User, user_id)
        if owner is not None and owner.role == ROLE_OWNER:
            # The shared subscription ends with its owner: members go back to Free, keeping their photos.

            await delete_team(session, owner_id=user_id)
        await session.execute(delete(User).where(User.id == user_id))
    log.info("account %s deleted", user_id)
