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
from collections.abc import Awaitable, Callable

from db.models import Job
from db.session import session_scope
from pixora_ui.services.event_channel import Channel
from pixora_ui.services.job_views import JobNotFound, JobView, view_of

Callback = Callable[[JobView], Awaitable[None] | None]
Forwarder = Callable[[JobView], None]

_channel: Channel[JobView] = Channel("a job event")


def subscribe(key: str | int, callback: Callback) -> Callable[[], None]:
    """Call `callback(JobView)` on every change of job `key` (str) or of user `key`'s jobs (int).

    Returns a function that unsubscribes (safe to call twice).
    """
    return _channel.subscribe(key, callback)


def publish(view: JobView) -> None:
    """A job changed in this process: tell this process's pages and every forwarder (other processes)."""
    deliver(view)
    _channel.forward(view)


def deliver(view: JobView) -> None:
    """Hand a view to this process's subscribers only (events that arrived from another process)."""
    _channel.deliver(view, (view.id, view.user_id))


def add_forwarder(forward: Forwarder) -> Callable[[], None]:
    """Also send every published view to `forward` (a cross-process bus); returns the remover."""
    return _channel.add_forwarder(forward)


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
