"""The job service of a web process: dispatch queued jobs to workers and recover lost ones.

Started and stopped by pixora_ui.lifecycle: `await start()`, `await stop()`.
Where jobs run depends on the configuration:

- QUEUE_URL set: each job is sent to Celery (`pixora_ui.workers.celery_queue`); `main.py worker`
  processes on any machine run it. This process runs nothing.
- ENGINE_WORKERS > 0 (the default): a pool of warm engine worker processes supervised by this
  one (`pixora_ui.workers.pool`). A worker that dies is replaced and its job failed and refunded.
- ENGINE_WORKERS = 0: jobs run inside this process, inference on the engine thread (tests and
  debugging only: a crashing model would take the web server down with it).

Leases, not "fail everything at start-up": every worker renews the lease of the job it runs; a
recovery pass (at start and every few seconds, in every web process) fails - with a refund - only
running jobs whose lease expired. Another instance's live jobs are never touched. A job whose
worker vanished is never re-run: it may be the job that killed the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from db.models import JOB_FAILED, JOB_QUEUED, Job, utcnow
from db.session import session_scope
from pixora_ui.providers.local import shutdown_engine_executor
from pixora_ui.services import asset_files, assets, job_events, job_queue, jobs
from pixora_ui.services.job_execution import (
    STOPPED_MESSAGE,
    JobExecutor,
    Running,
    new_worker_id,
    providers,
    queued_jobs,
    warm_registry,
)
from pixora_ui.settings import get_settings
from pixora_ui.storage.factory import get_storage
from pixora_ui.storage.local import LocalStorage

if TYPE_CHECKING:
    from pixora_ui.services.event_bus import EventBus
    from pixora_ui.workers.pool import WorkerPool

log = logging.getLogger("pixora.jobs")

POLL_EVERY_S = 2.0
MAINTENANCE_EVERY_S = 60.0
STOP_WAIT_S = 5.0
RESEND_EVERY_S = 30.0
RESEND_AFTER_S = 60.0


def _nothing() -> None:
    return None


def _row_carries_cancel(_job_id: str) -> None:
    """Celery mode: the worker reads the cancel flag from the row every second; nothing to send."""


def recovery_interval(lease_s: int) -> float:
    """How often to look for expired leases: a fraction of the lease, at most every 10 s."""
    return max(0.5, min(10.0, lease_s / 3))


async def recover_expired() -> int:
    """Fail (with a refund) the running jobs whose lease expired; publish each change."""
    async with session_scope() as session:
        recovered = await jobs.recover_expired_leases(session, lease_s=get_settings().job_lease_s)
    for view in recovered:
        job_events.publish(view)
    if recovered:
        log.warning("failed %d job(s) whose worker stopped; their credits were refunded", len(recovered))
    return len(recovered)


async def resend_lost_messages() -> int:
    """Celery mode: queue again a job that has waited over a minute while its queue is empty (its
    message was lost: the broker restarted, or the send failed). A copy too many is harmless: the
    first worker to claim the row runs it, the other copy is dropped."""
    from pixora_ui.workers import celery_queue  # noqa: PLC0415 - imports Celery: only in that mode

    settings = get_settings()
    depth = await asyncio.to_thread(celery_queue.broker_depth, settings)
    if depth is not None and sum(depth.values()) > 0:
        return 0
    cutoff = utcnow() - timedelta(seconds=RESEND_AFTER_S)
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(Job.id, Job.tool, Job.provider)
                .where(Job.status == JOB_QUEUED, Job.created_at < cutoff)
                .limit(500)
            )
        ).all()
    for row in rows:
        await asyncio.to_thread(celery_queue.send, row.id, tool=row.tool, provider=row.provider)
    if rows:
        log.warning("re-sent %d queued job(s) whose queue message was lost", len(rows))
    return len(rows)


@dataclass
class _Slot:
    running: Running
    remote: bool
    task: asyncio.Task[None] | None = None


class Runner:
    """In-process dispatch (ENGINE_WORKERS=0) plus the recovery pass every mode needs."""

    def __init__(self) -> None:
        settings = get_settings()
        self.local_slots = settings.local_job_concurrency
        self.remote_slots = settings.remote_job_concurrency
        self.lease_s = settings.job_lease_s
        self.in_process = settings.engine_workers == 0 and not settings.queue_url
        self.executor = JobExecutor(
            worker_id=new_worker_id("web"),
            emit=job_events.publish,
            timeout_s=settings.job_timeout_s,
            lease_s=settings.job_lease_s,
        )
        self._active: dict[str, _Slot] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_maintenance = 0.0
        self._last_recovery = 0.0
        self._stop_listening: Callable[[], None] = _nothing
        self.pool: WorkerPool | None = None
        self.bus: EventBus | None = None
        self.celery = bool(settings.queue_url)
        self._last_resend = time.monotonic()

    @property
    def _saves(self) -> set[asyncio.Task[None]]:
        return self.executor.saves

    # lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.in_process:
            # Build the tool registry and providers now, in a thread: their first use imports model
            # runtimes and SDKs (hundreds of milliseconds) that must not stall the first submit.
            await asyncio.to_thread(warm_registry)
        await self.recover()
        self._stopping = False
        settings = get_settings()
        if self.in_process:
            self._stop_listening = job_queue.listen(ready=lambda _message: self.wake(), cancel=self.request_cancel)
        elif settings.queue_url:
            from pixora_ui.workers import celery_queue  # noqa: PLC0415 - imports Celery: only in that mode

            self._stop_listening = job_queue.listen(ready=celery_queue.ready_listener, cancel=_row_carries_cancel)
        else:
            from pixora_ui.workers.pool import WorkerPool  # noqa: PLC0415 - kept out of the web server's start

            self.pool = WorkerPool(settings)
            await self.pool.start()
        if settings.event_bus_url:
            from pixora_ui.services.event_bus import EventBus  # noqa: PLC0415 - kept out of the web server's start

            self.bus = EventBus(settings)
            await self.bus.start()
        self._loop_task = asyncio.create_task(self._main(), name="pixora-job-runner")

    async def stop(self) -> None:
        """Ask running jobs to stop, wait briefly, then fail what is left (credit refunded)."""
        self._stopping = True
        self._stop_listening()
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self.pool is not None:
            await self.pool.stop()
            self.pool = None
        if self.bus is not None:
            await self.bus.stop()
            self.bus = None
        for slot in self._active.values():
            slot.running.cancel.set()
        tasks = [s.task for s in self._active.values() if s.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=STOP_WAIT_S)
        for job_id in list(self._active):
            await self.executor.finish(job_id, JOB_FAILED, STOPPED_MESSAGE, retryable=True)
        self._active.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asset_files.wait_for_file_removals(), STOP_WAIT_S)
        if self.in_process:
            shutdown_engine_executor()

    async def recover(self) -> int:
        """Recover jobs whose lease expired; remove partial files no live write owns."""
        self._last_recovery = time.monotonic()
        count = await recover_expired()

        storage = get_storage("local")
        if isinstance(storage, LocalStorage):
            await asyncio.to_thread(storage.cleanup_partial_files)
        return count

    async def _maintenance(self) -> None:
        await recover_expired()
        async with session_scope() as session:
            await assets.purge_deleted(session)

    def wake(self) -> None:
        self._wake.set()

    def request_cancel(self, job_id: str) -> None:
        slot = self._active.get(job_id)
        if slot is not None:
            slot.running.cancel.set()

    @property
    def active_jobs(self) -> list[str]:
        return list(self._active)

    def serves_this_loop(self) -> bool:
        """Whether its dispatch loop still runs on the current event loop. A runner started on a loop
        that has since closed (a server stopped while its start-up was still running) dispatches
        nothing and must be replaced, not reused."""
        task = self._loop_task
        return task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop()

    # main loop -----------------------------------------------------------------------------------------

    async def _main(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                if self.in_process:
                    await self._dispatch()
                now = time.monotonic()
                if now - self._last_recovery >= recovery_interval(self.lease_s):
                    self._last_recovery = now
                    await recover_expired()
                if self.celery and now - self._last_resend >= RESEND_EVERY_S:
                    self._last_resend = now
                    await resend_lost_messages()
                if now - self._last_maintenance >= MAINTENANCE_EVERY_S:
                    self._last_maintenance = now
                    async with session_scope() as session:
                        await assets.purge_deleted(session)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job runner loop failed; retrying")
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(POLL_EVERY_S, recovery_interval(self.lease_s)))

    def _free(self, remote: bool) -> int:
        busy = sum(1 for s in self._active.values() if s.remote == remote)
        return (self.remote_slots if remote else self.local_slots) - busy

    async def _dispatch(self) -> None:
        if self._free(False) <= 0 and self._free(True) <= 0:
            return
        configured = providers()
        for job_id, provider_name in await queued_jobs():
            if self._stopping:
                return
            provider = configured.get(provider_name)
            if provider is None:
                await self.executor.finish(
                    job_id, JOB_FAILED, f"The {provider_name} provider is no longer configured on this server."
                )
                continue
            if job_id in self._active or self._free(provider.remote) <= 0:
                continue
            running = await self.executor.claim(job_id)
            if running is None:
                continue
            slot = _Slot(running=running, remote=provider.remote)
            self._active[job_id] = slot
            slot.task = asyncio.create_task(self._run(slot), name=f"pixora-job-{job_id}")

    async def _run(self, slot: _Slot) -> None:
        try:
            await self.executor.run(slot.running)
        finally:
            self._active.pop(slot.running.job_id, None)
            self._wake.set()


# --- module-level service (lifecycle) -----------------------------------------------------------------

_runner: Runner | None = None


def get_runner() -> Runner | None:
    return _runner


async def start() -> None:
    global _runner  # noqa: PLW0603 - one runner per process
    if _runner is not None and _runner.serves_this_loop():
        return
    runner = Runner()
    await runner.start()
    _runner = runner


async def stop() -> None:
    global _runner
    runner, _runner = _runner, None
    if runner is not None:
        await runner.stop()


def mode() -> str:
    """Where jobs run: "celery", "pool" (engine worker processes) or "in-process"."""
    settings = get_settings()
    return "celery" if settings.queue_url else "pool" if settings.engine_workers > 0 else "in-process"


def worker_status() -> list[dict[str, Any]]:
    """The engine worker processes this web process supervises (empty in the other modes)."""
    pool = _runner.pool if _runner is not None else None
    return pool.status() if pool is not None else []


async def queue_depth() -> int:
    async with session_scope() as session:
        return await jobs.queued_count(session)


def wake() -> None:
    if _runner is not None:
        _runner.wake()


def request_cancel(job_id: str) -> None:
    if _runner is not None:
        _runner.request_cancel(job_id)
