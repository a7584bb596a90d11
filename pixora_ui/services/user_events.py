"""Account events: "this user's plan or usage changed", for the pages that show them.

Whatever changes a user's plan or usage (the billing webhook, `main.py admin set-plan`, a team's
plan passed on to its members, credits spent, refunded or renewed) calls `changed(session, user_id)`
in its transaction; the event goes out after the commit only (a rolled-back change is never
announced). Pages `subscribe(user_id, callback)` and re-read what they show.

Across processes the event rides the job-event bus (`services.event_bus`, Redis): a web process
with a bus forwards it to the other instances; a process without one (the command line, a Celery
worker) publishes straight to Redis when EVENTS_URL or a Redis QUEUE_URL is set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from pixora_ui.services.event_channel import Channel
from pixora_ui.settings import get_settings

Callback = Callable[[int], Awaitable[None] | None]
Forwarder = Callable[[int], None]

_PENDING = "pixora_changed_users"  # Session.info key: user ids to announce after the commit
_channel: Channel[int] = Channel("an account event")
_direct: dict[str, Any] = {}  # bus URL -> a blocking Redis publisher, for processes without a bus of their own


def changed(session: Session | AsyncSession, user_id: int) -> None:
    """Announce `user_id`'s account once `session` commits (once per user, however often it changed)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    pending = sync.info.get(_PENDING)
    if pending is None:
        # Listeners on this session only, not on every Session's every commit.
        pending = sync.info[_PENDING] = set()
        sa_event.listen(sync, "after_commit", _after_commit, once=True)
        sa_event.listen(sync, "after_soft_rollback", _after_rollback, once=True)
    pending.add(user_id)


def subscribe(user_id: int, callback: Callback) -> Callable[[], None]:
    """Call `callback(user_id)` after every change of the user's account; returns the unsubscribe."""
    return _channel.subscribe(user_id, callback)


def publish(user_id: int) -> None:
    """Tell this process's pages, and the other processes (the bus, or Redis directly)."""
    deliver(user_id)
    if not _channel.forward(user_id):
        _publish_direct(user_id)


def deliver(user_id: int) -> None:
    """Hand an event to this process's subscribers only (events that came from another process)."""
    _channel.deliver(user_id, (user_id,))


def add_forwarder(forward: Forwarder) -> Callable[[], None]:
    """Also send every published event to `forward` (the web process's bus); returns the remover."""
    return _channel.add_forwarder(forward)


def _after_commit(session: Session) -> None:
    for user_id in sorted(session.info.pop(_PENDING, ())):
        publish(user_id)


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


def _publish_direct(user_id: int) -> None:
    settings = get_settings()
    url = settings.event_bus_url
    if not url:
        return  # one process only: its pages heard it through `deliver`
    if url not in _direct:
        from pixora_ui.services.event_bus import EventPublisher  # noqa: PLC0415 - kept out of the web server's start

        _direct[url] = EventPublisher(settings)
    _direct[url].publish_user(user_id)
