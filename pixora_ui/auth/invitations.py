"""A team invitation carried through sign-up, e-mail verification and Google sign-in.

How an invitation travels:

1. The mailed link `/team/join?token=…` is opened by someone not signed in. The page looks the
   token up and, for a live invitation, keeps its *key* (the hash the database stores, never the
   raw token, never a team id) in the signed session cookie (`remember`).
2. Sign-up: the page reads that key and, when the address typed is the invited one, the
   confirmation link carries the key inside its HMAC (pixora_ui/auth/verify.py), so the link joins
   the team on whichever device it is opened.
3. Every sign-in that sets the session cookie (password hand-over, the confirmation link, Google)
   ends in `after_sign_in`: it takes the key (from the link, else from the cookie, which is emptied
   either way), joins the team through `teams.accept_by_key` (which refuses any address but the
   invited, confirmed one), and leaves a one-time notice that the next signed-in page shows.

A failure is never silent where the person came for the invitation: the invitation page explains
it (wrong address, expired, …), and a confirmation link that carried one leaves a notice instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from pixora_ui.auth.redirects import DEFAULT_AFTER_SIGN_IN
from pixora_ui.services import teams
from pixora_ui.services.teams import TeamError

log = logging.getLogger("pixora.auth")

INVITATION_PATH = "/team/join"  # where an invitation link lands (pages/team.py)
_PENDING_KEY = "pixora_invitation"
_NOTICE_KEY = "pixora_notice"

Kind = Literal["positive", "warning"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Notice:
    text: str
    kind: Kind


def _session(request: Request) -> dict[str, object] | None:
    return request.session if "session" in request.scope else None


def remember(request: Request, key: str) -> None:
    """Keep the key of the invitation this browser opened until its next sign-in."""
    session = _session(request)
    if session is not None and teams.is_invitation_key(key):
        session[_PENDING_KEY] = key


def pending(request: Request) -> str | None:
    """The key of the invitation this browser opened, if any (it stays until a sign-in takes it)."""
    session = _session(request)
    value = session.get(_PENDING_KEY) if session is not None else None
    return value if isinstance(value, str) and teams.is_invitation_key(value) else None


def _take_pending(request: Request) -> str | None:
    key = pending(request)
    session = _session(request)
    if session is not None:
        session.pop(_PENDING_KEY, None)
    return key


def leave_notice(request: Request, text: str, kind: Kind = "positive") -> None:
    session = _session(request)
    if session is not None:
        session[_NOTICE_KEY] = {"text": text[:300], "kind": kind}


def take_notice(request: Request) -> Notice | None:
    """The one-time notice left for this browser (gone once taken)."""
    session = _session(request)
    value = session.pop(_NOTICE_KEY, None) if session is not None else None
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return None
    kind: Kind = "warning" if value.get("kind") == "warning" else "positive"
    return Notice(text=value["text"], kind=kind)


async def after_sign_in(request: Request, *, user_id: int, next_path: str, carried: str | None = None) -> str:
    """Join the team of the invitation this sign-in comes from, if any; returns where to go next.

    `carried` is the key a confirmation link brought (already checked by its HMAC); without one the
    key this browser kept from the invitation page is used. Joined: the studio, with a notice.
    Refused: `next_path` (the invitation page explains why; a confirmation link leaves a notice)."""
    kept = _take_pending(request)
    key = carried or kept
    if key is None:
        return next_path
    from_invitation_page = next_path.startswith(INVITATION_PATH)
    try:
        joined = await teams.join_by_key(user_id=user_id, key=key)
    except TeamError as exc:
        log.info("account %s did not join a team at sign-in: %s", user_id, type(exc).__name__)
        if carried is not None and not from_invitation_page:
            leave_notice(request, str(exc), kind="warning")
        return next_path
    log.info("account %s joined a team at sign-in", user_id)
    leave_notice(request, joined.notice)
    return DEFAULT_AFTER_SIGN_IN if from_invitation_page else next_path
