"""The engine worker pool inside `main.py serve`: warm worker processes, supervised.

- ENGINE_WORKERS processes take local-engine jobs, one at a time each; one more process takes
  remote-provider jobs (ImageKit, Gemini), up to REMOTE_JOB_CONCURRENCY at once, so they never
  wait behind local inference. Each is a fresh interpreter (`engine_process`) that loads its
  models once and stays warm.
- Dispatch: queued jobs, oldest first, go to a free worker of their lane; the worker claims the
  row itself (a conditional UPDATE), so a job another instance took is simply skipped.
- A worker that dies (segfault, OOM kill, kill -9) is noticed at once by its process sentinel:
  the job it held ends failed with a clear message and its credit refunded - never retried here,
  it may be what killed the worker, but marked retryable so the person may - and a new worker
  starts. The web process stays up.
- Memory cap: a watchdog reads each worker's resident memory every 0.1 s and kills a worker
  above WORKER_MEMORY_MB (its job fails with a message saying so, not retryable: the same photo
  would need the same memory). RLIMIT_AS is not used: the model runtimes reserve far more address
  space than they ever touch.
- Cancel: the worker is told at once and stops at the tool's next check; a worker that still
  holds the job 1.4 s later is killed and replaced (the job ends cancelled at that moment), so a
  cancel never takes more than 2 s.

One module on purpose: dispatch, the crash sentinel, the memory watchdog and cancel all read and
change the same `WorkerState`s on the supervisor's one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import JOB_CANCELLED, JOB_FAILED, JOB_RUNNING, Job
from db.session import session_scope
from pixora_ui.services import job_events, job_queue, jobs
from pixora_ui.services.job_execution import STOPPED_MESSAGE, new_worker_id, providers, queued_jobs
from pixora_ui.services.job_views import JobView, from_wire
from pixora_ui.settings import Settings

log = logging.getLogger("pixora.workers")

LOCAL = "local"
REMOTE = "remote"
CANCEL_GRACE_S = 1.4
WATCH_EVERY_S = 0.1
POLL_EVERY_S = 2.0
START_TIMEOUT_S = 120.0
STOP_WAIT_S = 6.0
RESTART_BACKOFF_S = (0.0, 0.5, 2.0, 5.0)  # after a worker dies young, wait longer before the next

CRASH_MESSAGE = "The engine crashed while running this edit ({cause}); the studio is still running."
MEMORY_MESSAGE = "This edit needed more than {limit} MB of memory and was stopped; try a smaller photo or scale."
_REPO = Path(__file__).resolve().parents[2]
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _cause(returncode: int | None) -> str:
    if returncode is None or returncode >= 0:
        return f"it exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return {"SIGSEGV": "a segmentation fault", "SIGABRT": "it aborted", "SIGKILL": "it was killed"}.get(name, name)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE / (1 << 20)
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class WorkerState:
    """What the supervisor knows of one worker process."""

    lane: str
    capacity: int
    worker_id: str
    process: subprocess.Popen[bytes]
    connection: Connection
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    models: list[str] = field(default_factory=list)
    jobs: dict[str, float | None] = field(default_factory=dict)  # job id -> kill deadline after a cancel
    kill_reason: dict[str, str] = field(default_factory=dict)  # job id -> how to end it when killed on purpose
    rss_mb: float = 0.0
    exited: bool = False

    @property
    def free(self) -> int:
        return self.capacity - len(self.jobs) if self.ready and not self.exited else 0


class WorkerPool:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local_count = settings.engine_workers
        self.remote_capacity = settings.remote_job_concurrency
        self.memory_mb = settings.worker_memory_mb
        self.workers: list[WorkerState] = []
        self._young_deaths: dict[str, int] = {LOCAL: 0, REMOTE: 0}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stop_listening = job_queue.listen(ready=lambda _m: self._wake.set(), cancel=self.cancel)
        self._replacements: set[asyncio.Task[None]] = set()

    # lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        for _ in range(self.local_count):
            self._spawn(LOCAL, 1)
        self._spawn(REMOTE, self.remote_capacity)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._dispatch_loop(), name="pixora-pool-dispatch"),
            loop.create_task(self._watch_loop(), name="pixora-pool-watch"),
        ]

    async def wait_ready(self, timeout: float = START_TIMEOUT_S) -> bool:  # noqa: ASYNC109 - a poll with a deadline
        """Whether every worker (replacements included) is up and warm within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready_count(LOCAL) >= self.local_count and self._ready_count(REMOTE) >= 1:
                return True
            await asyncio.sleep(0.05)
        return False

    def _ready_count(self, lane: str) -> int:
        return sum(1 for w in self.workers if w.lane == lane and w.ready and not w.exited)

    async def stop(self) -> None:
        self._stopping = True
        self._stop_listening()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in list(self._replacements):
            task.cancel()
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.connection.send(("stop",))
        deadline = time.monotonic() + STOP_WAIT_S
        for worker in self.workers:
            try:
                await asyncio.to_thread(worker.process.wait, max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                await asyncio.to_thread(worker.process.wait)
            self._forget(worker)
            for job_id in list(worker.jobs):
                await self._end(worker, job_id, JOB_FAILED, STOPPED_MESSAGE, retryable=True)
        self.workers.clear()

    # status (health) ------------------------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        return [
            {
                "worker_id": w.worker_id,
                "pid": w.process.pid,
                "lane": w.lane,
                "alive": not w.exited and w.process.poll() is None,
                "ready": w.ready,
                "busy": len(w.jobs),
                "capacity": w.capacity,
                "models_loaded": list(w.models),
                "rss_mb": round(w.rss_mb, 1),
            }
            for w in self.workers
        ]

    # processes -----------------------------------------------------------------------------------------

    def _spawn(self, lane: str, capacity: int) -> WorkerState:
        parent_socket, child_socket = socket.socketpair()
        worker_id = new_worker_id(f"engine-{lane}")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), env.get("PYTHONPATH", "")]))
        if "ENGINE_THREADS" not in os.environ:  # share the cores between the workers, not all to each
            env["ENGINE_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, self.local_count)))
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "pixora_ui.workers.engine_process", str(child_socket.fileno()), worker_id, lane],
            pass_fds=(child_socket.fileno(),),
            env=env,
            cwd=os.getcwd(),
        )
        child_socket.close()
        connection = Connection(parent_socket.detach())
        worker = WorkerState(lane=lane, capacity=capacity, worker_id=worker_id, process=process, connection=connection)
        self.workers.append(worker)
        loop = asyncio.get_running_loop()
        loop.add_reader(connection.fileno(), self._on_readable, worker)
        return worker

    def _forget(self, worker: WorkerState) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(worker.connection.fileno())
        with contextlib.suppress(OSError):
            worker.connection.close()

    def _on_readable(self, worker: WorkerState) -> None:
        try:
            while worker.connection.poll():
                self._on_message(worker, worker.connection.recv())
        except (EOFError, OSError):
            # The pipe closed: the worker exited (the watch loop reaps it and settles its jobs).
            self._forget(worker)
            worker.exited = True
            self._wake.set()

    def _on_message(self, worker: WorkerState, message: tuple[Any, ...]) -> None:
        match message:
            case ("ready", list(models)):
                worker.ready = True
                worker.models = [str(m) for m in models]
                self._young_deaths[worker.lane] = 0
                self._wake.set()
            case ("event", dict(wire)):
                view: JobView = from_wire(wire)
                if view.done and view.id in worker.jobs and view.id not in worker.kill_reason:
                    worker.jobs.pop(view.id, None)
                    self._wake.set()
                job_events.publish(view)
            case ("done", str(job_id), _ran):
                worker.jobs.pop(job_id, None)
                worker.kill_reason.pop(job_id, None)
                self._wake.set()
            case _:
                log.warning("unknown message from worker %s: %r", worker.worker_id, message)

    # dispatch ------------------------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._dispatch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job dispatch failed; retrying")
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_EVERY_S)

    def _assigned(self) -> set[str]:
        return {job_id for w in self.workers for job_id in w.jobs}

    async def _dispatch(self) -> None:
        if not any(w.free for w in self.workers):
            return
        configured = providers()
        assigned = self._assigned()
        for job_id, provider_name in await queued_jobs():
            if job_id in assigned:
                continue
            provider = configured.get(provider_name)
            if provider is None:
                async with session_scope() as session:
                    view = await jobs.finish(
                        session,
                        job_id=job_id,
                        status=JOB_FAILED,
                        error=f"The {provider_name} provider is no longer configured on this server.",
                        message="Failed",
                    )
                if view is not None:
                    job_events.publish(view)
                continue
            lane = REMOTE if provider.remote else LOCAL
            worker = max((w for w in self.workers if w.lane == lane), key=lambda w: w.free, default=None)
            if worker is None or worker.free <= 0:
                continue
            worker.jobs[job_id] = None
            try:
                worker.connection.send(("run", job_id))
            except OSError:
                worker.jobs.pop(job_id, None)

    # cancel, memory, deaths ------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> None:
        """Tell the worker holding the job; kill it if the job is still there after CANCEL_GRACE_S."""
        for worker in self.workers:
            if job_id in worker.jobs and worker.jobs[job_id] is None:
                worker.jobs[job_id] = time.monotonic() + CANCEL_GRACE_S
                with contextlib.suppress(OSError):
                    worker.connection.send(("cancel", job_id))
                self._wake.set()

    async def _cancels_from_the_database(self) -> None:
        """Cancels requested through another web instance reach this pool through the row."""
        held = [job_id for w in self.workers for job_id, deadline in w.jobs.items() if deadline is None]
        if not held:
            return
        async with session_scope() as session:
            flagged = (
                await session.scalars(
                    select(Job.id).where(Job.id.in_(held), Job.status == JOB_RUNNING, Job.cancel_requested.is_(True))
                )
            ).all()
        for job_id in flagged:
            self.cancel(str(job_id))

    async def _watch_loop(self) -> None:
        last_db_check = 0.0
        while not self._stopping:
            try:
                await self._watch_once()
                if time.monotonic() - last_db_check >= 1.0:
                    last_db_check = time.monotonic()
                    await self._cancels_from_the_database()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker watchdog failed; retrying")
            await asyncio.sleep(WATCH_EVERY_S)

    async def _watch_once(self) -> None:
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.process.poll() is not None:
                await self._replace(worker)
                continue
            worker.rss_mb = _rss_mb(worker.process.pid)
            if worker.rss_mb > self.memory_mb:
                log.warning(
                    "worker %s uses %.0f MB (cap %d MB): killing it", worker.worker_id, worker.rss_mb, self.memory_mb
                )
                for job_id in worker.jobs:
                    worker.kill_reason.setdefault(job_id, "memory")
                self._kill(worker)
                continue
            overdue = [job_id for job_id, deadline in worker.jobs.items() if deadline is not None and now >= deadline]
            if overdue:
                log.warning(
                    "worker %s did not stop within %.1f s of a cancel: killing it", worker.worker_id, CANCEL_GRACE_S
                )
                self._kill(worker)
                for job_id in overdue:  # ended now, not when the process has been reaped: the user waits
                    worker.kill_reason[job_id] = "cancel"
                    await self._end(worker, job_id, JOB_CANCELLED, None)

    def _kill(self, worker: WorkerState) -> None:
        """SIGKILL; no new job goes to it, and the next watch replaces it."""
        worker.exited = True
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()

    async def _replace(self, worker: WorkerState) -> None:
        """A worker exited: settle the jobs it held, then start another in its place."""
        self.workers.remove(worker)
        self._forget(worker)
        code = worker.process.returncode
        if not self._stopping:
            log.warning("engine worker %s exited (%s)", worker.worker_id, _cause(code))
        for job_id in list(worker.jobs):
            reason = worker.kill_reason.get(job_id)
            if reason == "cancel":
                await self._end(worker, job_id, JOB_CANCELLED, None)
            elif reason == "memory":  # the same photo and settings would need the same memory again
                await self._end(worker, job_id, JOB_FAILED, MEMORY_MESSAGE.format(limit=self.memory_mb))
            else:
                await self._end(worker, job_id, JOB_FAILED, CRASH_MESSAGE.format(cause=_cause(code)), retryable=True)
        if self._stopping:
            return
        young = time.monotonic() - worker.started < 10 and not worker.ready
        self._young_deaths[worker.lane] = self._young_deaths[worker.lane] + 1 if young else 0
        delay = RESTART_BACKOFF_S[min(self._young_deaths[worker.lane], len(RESTART_BACKOFF_S) - 1)]
        if delay:
            task = asyncio.get_running_loop().create_task(self._respawn_later(worker.lane, worker.capacity, delay))
            self._replacements.add(task)
            task.add_done_callback(self._replacements.discard)
        else:
            self._spawn(worker.lane, worker.capacity)
        self._wake.set()

    async def _respawn_later(self, lane: str, capacity: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self._stopping:
            self._spawn(lane, capacity)

    async def _end(
        self, worker: WorkerState, job_id: str, status: str, error: str | None, *, retryable: bool = False
    ) -> None:
        """End a job this worker held (and only while it holds it: the row names the worker)."""
        worker.jobs.pop(job_id, None)
        try:
            async with session_scope() as session:
                view = await jobs.finish(
                    session,
                    job_id=job_id,
                    status=status,
                    error=error,
                    message="Cancelled" if status == JOB_CANCELLED else "Failed",
                    from_states=(JOB_RUNNING,),
                    held_by=worker.worker_id,
                    retryable=retryable,
                )
        except Exception:
            log.exception("could not record the end of job %s", job_id)
            return
        if view is not None:
            job_events.publish(view)
