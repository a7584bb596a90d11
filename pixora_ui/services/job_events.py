"""Job events: the one home of "a job changed" - publish, subscribe, wait.

Producers (the job service on submit/cancel, the executor and the worker supervisor on progress
and completion, the event bus relaying other processes) call `publish(view)`; pages subscribe by
job id (str) or user id (int). Callbacks run on the event loop; an async callback becomes a task.

Across processes: `add_forwarder(fn)` lets a bus (Redis pub/sub, see `services.event_bus`) carry
every locally published view to other web instances, which hand it to `deliver(view)` - delivery
to this process's subscribers only, so an event never echoes back onto the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from db.models import Job
from db.session import session_scope
from pixora_ui.services.job_views import JobNotFound, JobView, view_of

log = logging.getLogger("pixora.jobs")

Callback = Callable[[JobView], Awaitable[None] | None]
Forwarder = Callable[[JobView], None]

_subscribers: dict[str | int, list[Callback]] = {}
_forwarders: list[Forwarder] = []
_callback_tasks: set[asyncio.Task[Any]] = set()


def subscribe(key: str | int, callback: Callback) -> Callable[[], None]:
    """Call `callback(JobView)` on every change of job `key` (str) or of user `key`'s jobs (int).

    Returns a function that unsubscribes (safe to call twice).
    """
    _subscribers.setdefault(key, []).append(callback)

    def unsubscribe() -> None:
        callbacks = _subscribers.get(key)
        if callbacks and callback in callbacks:
            callbacks.remove(callback)
            if not callbacks:
                _subscribers.pop(key, None)

    return unsubscribe


def publish(view: JobView) -> None:
    """A job changed in this process: tell this process's pages and every forwarder (other processes)."""
    deliver(view)
    for forward in list(_forwarders):
        try:
            forward(view)
        except Exception:
            log.warning("could not forward a job event", exc_info=True)


def deliver(view: JobView) -> None:
    """Hand a view to this process's subscribers only (events that arrived from another process)."""
    for key in (view.id, view.user_id):
        for callback in list(_subscribers.get(key, ())):
            try:
                outcome = callback(view)
                if inspect.isawaitable(outcome):
                    task = asyncio.ensure_future(outcome)
                    _callback_tasks.add(task)
                    task.add_done_callback(_callback_done)
            except Exception:
                log.warning("a job subscriber failed", exc_info=True)


def add_forwarder(forward: Forwarder) -> Callable[[], None]:
    """Also send every published view to `forward` (a cross-process bus); returns the remover."""
    _forwarders.append(forward)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _forwarders.remove(forward)

    return remove


def _callback_done(task: asyncio.Task[Any]) -> None:
    _callback_tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("a job subscriber failed", exc_info=task.exception())


async def _current(job_id: str, user_id: int) -> JobView | None:
    async with session_scope() as session:
        job = await session.get(Job, job_id, populate_existing=True)
        if job is None or job.user_id != user_id:
            return None
        return await view_of(session, job)


async def wait_for(job_id: str, *, user_id: int, timeout: float) -> JobView:  # noqa: ASYNC109 - returns the latest state at the deadline instead of raising
    """Wait until the job is final or `timeout` seconds pass; its latest state either way.

    Events are the fast path; the row is also re-read every second, so a job finished by a process
    whose events do not reach this one (no bus configured) is still seen.
    """
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[JobView] = loop.create_future()

    def on_change(view: JobView) -> None:
        if view.done and not finished.done():
            finished.set_result(view)

    unsubscribe = subscribe(job_id, on_change)
    try:
        deadline = loop.time() + timeout
        while True:
            current = await _current(job_id, user_id)
            if current is None:
                raise JobNotFound()
            if current.done:
                return current
            left = deadline - loop.time()
            if left <= 0:
                return current
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(finished), min(1.0, left))
    finally:
        unsubscribe()
