"""An in-process event channel: subscribers by key, forwarders to other processes.

Job events and account events both need the same three things: pages subscribe by a key, whatever
changed delivers to this process's subscribers, and a bus (services.event_bus) may forward each
event to the other web instances, which deliver it locally without forwarding it again.
Callbacks run on the event loop; an async callback becomes a task whose failure is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

log = logging.getLogger("pixora.events")

E = TypeVar("E")


class Channel(Generic[E]):
    def __init__(self, what: str) -> None:
        self._what = what  # "a job event", "an account event": for the log
        self._subscribers: dict[Hashable, list[Callable[[E], Awaitable[None] | None]]] = {}
        self._forwarders: list[Callable[[E], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def subscribe(self, key: Hashable, callback: Callable[[E], Awaitable[None] | None]) -> Callable[[], None]:
        """Call `callback(event)` for every event delivered under `key`; returns the unsubscribe
        (safe to call twice)."""
        self._subscribers.setdefault(key, []).append(callback)

        def unsubscribe() -> None:
            callbacks = self._subscribers.get(key)
            if callbacks and callback in callbacks:
                callbacks.remove(callback)
                if not callbacks:
                    self._subscribers.pop(key, None)

        return unsubscribe

    def deliver(self, event: E, keys: Iterable[Hashable]) -> None:
        """Hand `event` to this process's subscribers of each key only."""
        for key in keys:
            for callback in list(self._subscribers.get(key, ())):
                try:
                    outcome = callback(event)
                    if inspect.isawaitable(outcome):
                        task = asyncio.ensure_future(outcome)
                        self._tasks.add(task)
                        task.add_done_callback(self._task_done)
                except Exception:
                    log.warning("%s subscriber failed", self._what, exc_info=True)

    def forward(self, event: E) -> bool:
        """Send `event` to every forwarder (other processes); False when there is none."""
        for forward in list(self._forwarders):
            try:
                forward(event)
            except Exception:
                log.warning("could not forward %s", self._what, exc_info=True)
        return bool(self._forwarders)

    def add_forwarder(self, forward: Callable[[E], None]) -> Callable[[], None]:
        """Also send every forwarded event to `forward` (a cross-process bus); returns the remover."""
        self._forwarders.append(forward)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._forwarders.remove(forward)

        return remove

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s subscriber failed", self._what, exc_info=task.exception())
