"""The queue between submit and the workers: "job X is ready" and "job X should stop".

The jobs table stays the source of truth (status, credit, lease); a message here only says which
row to look at. The job service calls `enqueue` after its transaction commits and
`request_cancel` after a cancel commits; whoever dispatches jobs in this process (the runner:
in-process, the worker pool, or Celery's `send_task`) registers a listener. With no listener the
message is simply dropped: every dispatcher also polls the table, so no job is lost.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("pixora.jobs")


@dataclass(frozen=True, slots=True)
class Ready:
    job_id: str
    tool: str
    provider: str


ReadyListener = Callable[[Ready], None]
CancelListener = Callable[[str], None]

_ready: list[ReadyListener] = []
_cancel: list[CancelListener] = []


def enqueue(message: Ready) -> None:
    for listener in list(_ready):
        try:
            listener(message)
        except Exception:
            log.exception("could not hand job %s to its queue; the dispatcher's poll will pick it up", message.job_id)


def request_cancel(job_id: str) -> None:
    for listener in list(_cancel):
        try:
            listener(job_id)
        except Exception:
            log.exception("could not pass on the cancel of job %s; the worker sees the flag on the row", job_id)


def listen(*, ready: ReadyListener, cancel: CancelListener) -> Callable[[], None]:
    """Register a dispatcher; returns the function that unregisters it."""
    _ready.append(ready)
    _cancel.append(cancel)

    def stop() -> None:
        with contextlib.suppress(ValueError):
            _ready.remove(ready)
        with contextlib.suppress(ValueError):
            _cancel.remove(cancel)

    return stop
