"""One-time hand-over tickets between a NiceGUI page and the plain HTTP route that sets the cookie.

NiceGUI pages talk over a websocket and cannot set an HttpOnly cookie. After a page has checked a
password, it asks for a ticket and navigates to `/auth/session?ticket=…`; that route redeems the
ticket, creates the database session and sets the cookie. A ticket lives 30 seconds, works once,
is kept only as a hash and is bound to the browser that asked for it (NiceGUI's signed browser id),
so a ticket that leaks or is planted by another site signs nobody in.

Tickets live in this process's memory: Pixora runs as one process (a restart just means signing
in again within those 30 seconds).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Literal

TICKET_TTL_S = 30.0

Kind = Literal["sign_in", "sign_out"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Ticket:
    kind: Kind
    user_id: int
    browser_id: str
    next_path: str
    expires: float


_tickets: dict[str, Ticket] = {}


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def _prune(now: float) -> None:
    for key in [k for k, t in _tickets.items() if t.expires <= now]:
        del _tickets[key]


def issue(*, kind: Kind, user_id: int, browser_id: str, next_path: str, ttl_s: float = TICKET_TTL_S) -> str:
    if not browser_id:
        raise ValueError("a ticket needs the browser id")
    now = time.monotonic()
    _prune(now)
    ticket = secrets.token_urlsafe(32)
    _tickets[_digest(ticket)] = Ticket(
        kind=kind, user_id=user_id, browser_id=browser_id, next_path=next_path, expires=now + ttl_s
    )
    return ticket


def redeem(ticket: str | None, *, kind: Kind, browser_id: str | None) -> Ticket | None:
    """The ticket's content if it is valid for this browser; it is used up either way."""
    if not ticket or not browser_id or len(ticket) > 100:
        return None
    now = time.monotonic()
    found = _tickets.pop(_digest(ticket), None)
    _prune(now)
    if found is None or found.kind != kind or found.expires <= now:
        return None
    if not secrets.compare_digest(found.browser_id, browser_id):
        return None
    return found


def clear() -> None:
    _tickets.clear()
