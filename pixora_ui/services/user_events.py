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

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from pixora_ui.settings import get_settings

log = logging.getLogger("pixora.events")

Callback = Callable[[int], Awaitable[None] | None]
Forwarder = Callable[[int], None]

_PENDING = "pixora_changed_users"  # Session.info key: user ids to announce after the commit
_subscribers: dict[int, list[Callback]] = {}
_forwarders: list[Forwarder] = []
_tasks: set[asyncio.Task[Any]] = set()
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
    _subscribers.setdefault(user_id, []).append(callback)

    def unsubscribe() -> None:
        callbacks = _subscribers.get(user_id)
        if callbacks and callback in callbacks:
            callbacks.remove(callback)
            if not callbacks:
                _subscribers.pop(user_id, None)

    return unsubscribe


def publish(user_id: int) -> None:
    """Tell this process's pages, and the other processes (the bus, or Redis directly)."""
    deliver(user_id)
    if _forwarders:
        for forward in list(_forwarders):
            try:
                forward(user_id)
            except Exception:
                log.warning("could not forward an account event", exc_info=True)
    else:
        _publish_direct(user_id)


def deliver(user_id: int) -> None:
    """Hand an event to this process's subscribers only (events that came from another process)."""
    for callback in list(_subscribers.get(user_id, ())):
        try:
            outcome = callback(user_id)
            if inspect.isawaitable(outcome):
                task = asyncio.ensure_future(outcome)
                _tasks.add(task)
                task.add_done_callback(_done)
        except Exception:
            log.warning("an account event subscriber failed", exc_info=True)


def add_forwarder(forward: Forwarder) -> Callable[[], None]:
    """Also send every published event to `forward` (the web process's bus); returns the remover."""
    _forwarders.append(forward)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _forwarders.remove(forward)

    return remove


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


def _done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("an account event subscriber failed", exc_info=task.exception())
