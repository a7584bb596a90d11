"""The in-process job runner, and the pub/sub that pushes job changes to pages.

- Started and stopped by pixora_ui.lifecycle (SERVICE_MODULES): `await start()`, `await stop()`.
- Picks `queued` jobs oldest first and claims each with a conditional UPDATE (queued -> running),
  so a job runs once even if two runners race. Bounded concurrency: LOCAL_JOB_CONCURRENCY jobs on
  the local engine, REMOTE_JOB_CONCURRENCY on remote providers (they mostly wait on the network).
- Inference never runs on the event loop: the local provider hands it to the one engine executor;
  decoding and encoding run in worker threads.
- Progress from the tool is pushed to subscribers at most every 0.2 s and written to the database
  at most once a second (that write also picks up a cancel requested from elsewhere).
- Each job has a time limit (JOB_TIMEOUT_S). The result becomes a new asset whose parent is the
  input, stored and recorded in the same transaction that marks the job succeeded (credit kept).
  Failure, cancel or timeout: the job ends failed/cancelled and the credit is refunded, once.
- Crash safety: at start-up every job still `running` was interrupted by a crash or kill (this is
  a one-process app); it is failed with a refund rather than re-queued, because a job that took
  the process down could do it again, and the user gets a clear message and their credit back at
  once. Queued jobs simply run. A watchdog also fails any job running longer than the time limit
  plus a grace period, so no job stays `running` forever. Files are written atomically (temporary
  file, fsync, rename) and a result asset is committed together with the job's success, so a
  restart never leaves a half-written file, loses an original or loses a paid result.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import select, update

from db.models import (
    JOB_CANCELLED,
    JOB_FAILED,
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    Asset,
    Job,
    utcnow,
)
from db.session import session_scope
from pixora_ui.engine.imageio import ImageInputError
from pixora_ui.engine.registry import ImageArray, ToolCancelled, ToolError, ToolResult
from pixora_ui.providers.base import Provider, ProviderRequest
from pixora_ui.providers.local import in_background
from pixora_ui.services import assets, jobs
from pixora_ui.services.jobs import JobView
from pixora_ui.settings import get_settings
from pixora_ui.storage.factory import get_storage

log = logging.getLogger("pixora.jobs")

Callback = Callable[[JobView], Awaitable[None] | None]

PUBLISH_EVERY_S = 0.2
DB_PROGRESS_EVERY_S = 1.0
POLL_EVERY_S = 2.0
MAINTENANCE_EVERY_S = 60.0
WATCHDOG_GRACE = timedelta(seconds=120)
STOP_WAIT_S = 5.0

CRASH_MESSAGE = "The server restarted while this edit was running."
TIMEOUT_MESSAGE = "This edit took longer than {minutes} and was stopped."
UNEXPECTED_MESSAGE = "Something went wrong while running {tool}."
STOPPED_MESSAGE = "The server was stopped while this edit was running."


# --- pub/sub ------------------------------------------------------------------------------------------

_subscribers: dict[str | int, list[Callback]] = {}
_callback_tasks: set[asyncio.Task[Any]] = set()


def subscribe(key: str | int, callback: Callback) -> Callable[[], None]:
    """Call `callback(JobView)` on every change of job `key` (str) or of user `key`'s jobs (int).

    Callbacks run on the event loop; an async callback is scheduled as a task. Returns a function
    that unsubscribes (safe to call twice).
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


def _callback_done(task: asyncio.Task[Any]) -> None:
    _callback_tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("a job subscriber failed", exc_info=task.exception())


async def wait_for(job_id: str, *, user_id: int, timeout: float) -> JobView:  # noqa: ASYNC109 - returns the latest state at the deadline instead of raising
    """Wait until the job is final or `timeout` seconds pass; its latest state either way."""
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[JobView] = loop.create_future()

    def on_change(view: JobView) -> None:
        if view.done and not finished.done():
            finished.set_result(view)

    unsubscribe = subscribe(job_id, on_change)
    try:
        async with session_scope() as session:
            current = await jobs.get_job(session, user_id=user_id, job_id=job_id)
        if current.done:
            return current
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(finished, timeout)
        async with session_scope() as session:
            return await jobs.get_job(session, user_id=user_id, job_id=job_id)
    finally:
        unsubscribe()


# --- the runner ---------------------------------------------------------------------------------------


@dataclass
class _Active:
    job_id: str
    remote: bool
    view: JobView
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: float = 0.0
    message: str = ""
    changed: bool = False
    last_publish: float = 0.0
    publish_pending: bool = False
    task: asyncio.Task[None] | None = None


def _warm_up() -> None:
    jobs.registry()
    _providers()


def _providers() -> dict[str, Provider]:
    from pixora_ui.providers import router

    return router.configured_providers()


class Runner:
    def __init__(self) -> None:
        settings = get_settings()
        self.local_slots = settings.local_job_concurrency
        self.remote_slots = settings.remote_job_concurrency
        self.timeout_s = settings.job_timeout_s
        self._active: dict[str, _Active] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_maintenance = 0.0
        self._saves: set[asyncio.Task[None]] = set()  # result saves that outlived their job's deadline

    # lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        # Build the tool registry and the providers now, in a thread: their first use imports model
        # runtimes and SDKs (hundreds of milliseconds) that must not stall the first submit.
        await asyncio.to_thread(_warm_up)
        await self.recover()
        self._stopping = False
        self._loop_task = asyncio.create_task(self._main(), name="pixora-job-runner")

    async def stop(self) -> None:
        """Ask running jobs to stop, wait briefly, then fail what is left (credit refunded)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for active in self._active.values():
            active.cancel.set()
        tasks = [a.task for a in self._active.values() if a.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=STOP_WAIT_S)
        for job_id in list(self._active):
            await self._finish(job_id, JOB_FAILED, STOPPED_MESSAGE)
        self._active.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(assets.wait_for_file_removals(), STOP_WAIT_S)
        from pixora_ui.providers.local import shutdown_engine_executor

        shutdown_engine_executor()

    async def recover(self) -> int:
        """Fail (with a refund) every job left `running` by a previous process; remove partial files."""
        async with session_scope() as session:
            stuck = list((await session.scalars(select(Job.id).where(Job.status == JOB_RUNNING))).all())
        for job_id in stuck:
            await self._finish(job_id, JOB_FAILED, CRASH_MESSAGE, from_states=(JOB_RUNNING,))
        if stuck:
            log.warning("failed %d job(s) interrupted by a restart; their credits were refunded", len(stuck))
        from pixora_ui.storage.local import LocalStorage

        storage = get_storage("local")
        if isinstance(storage, LocalStorage):
            await asyncio.to_thread(storage.cleanup_partial_files)
        return len(stuck)

    def wake(self) -> None:
        self._wake.set()

    def request_cancel(self, job_id: str) -> None:
        active = self._active.get(job_id)
        if active is not None:
            active.cancel.set()

    @property
    def active_jobs(self) -> list[str]:
        return list(self._active)

    # main loop -----------------------------------------------------------------------------------------

    async def _main(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._dispatch()
                if time.monotonic() - self._last_maintenance >= MAINTENANCE_EVERY_S:
                    self._last_maintenance = time.monotonic()
                    await self._maintenance()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job runner loop failed; retrying")
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_EVERY_S)

    def _free(self, remote: bool) -> int:
        busy = sum(1 for a in self._active.values() if a.remote == remote)
        return (self.remote_slots if remote else self.local_slots) - busy

    async def _dispatch(self) -> None:
        if self._free(False) <= 0 and self._free(True) <= 0:
            return
        async with session_scope() as session:
            queued = (
                await session.execute(
                    select(Job.id, Job.provider)
                    .where(Job.status == JOB_QUEUED)
                    .order_by(Job.created_at, Job.id)
                    .limit(100)
                )
            ).all()
        providers = _providers()
        for job_id, provider_name in queued:
            if self._stopping:
                return
            provider = providers.get(provider_name)
            if provider is None:
                await self._finish(
                    job_id, JOB_FAILED, f"The {provider_name} provider is no longer configured on this server."
                )
                continue
            if job_id in self._active or self._free(provider.remote) <= 0:
                continue
            view = await self._claim(job_id)
            if view is None:
                continue
            active = _Active(job_id=job_id, remote=provider.remote, view=view, message=view.message)
            self._active[job_id] = active
            publish(view)
            active.task = asyncio.create_task(self._run(active, provider), name=f"pixora-job-{job_id}")

    async def _claim(self, job_id: str) -> JobView | None:
        async with session_scope() as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JOB_QUEUED)
                .values(status=JOB_RUNNING, started_at=utcnow(), attempts=Job.attempts + 1, message="Starting…")
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            job = await session.get(Job, job_id, populate_existing=True)
            assert job is not None
            return await jobs.view_of(session, job)

    async def _maintenance(self) -> None:
        # Watchdog: a job running far past its time limit lost its task somewhere; end it.
        cutoff = utcnow() - timedelta(seconds=self.timeout_s) - WATCHDOG_GRACE
        async with session_scope() as session:
            overdue = list(
                (await session.scalars(select(Job.id).where(Job.status == JOB_RUNNING, Job.started_at < cutoff))).all()
            )
        for job_id in overdue:
            if job_id not in self._active:
                await self._finish(job_id, JOB_FAILED, self._timeout_message(), from_states=(JOB_RUNNING,))
        async with session_scope() as session:
            await assets.purge_deleted(session)

    # one job -------------------------------------------------------------------------------------------

    def _timeout_message(self) -> str:
        seconds = self.timeout_s
        if seconds >= 60:
            minutes = round(seconds / 60, 1)
            text = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
        else:
            text = f"{seconds} second" + ("" if seconds == 1 else "s")
        return TIMEOUT_MESSAGE.format(minutes=text)

    async def _finish(
        self,
        job_id: str,
        status: str,
        error: str | None,
        *,
        message: str | None = None,
        from_states: tuple[str, ...] = (JOB_QUEUED, JOB_RUNNING),
    ) -> JobView | None:
        text = message or ("Cancelled" if status == JOB_CANCELLED else "Failed")
        try:
            async with session_scope() as session:
                view = await jobs.finish(
                    session, job_id=job_id, status=status, error=error, message=text, from_states=from_states
                )
        except Exception:
            log.exception("could not record the end of job %s", job_id)
            return None
        if view is not None:
            publish(view)
        return view

    def _progress_callback(self, active: _Active, loop: asyncio.AbstractEventLoop) -> Callable[[float, str], None]:
        def progress(fraction: float, message: str) -> None:
            # Called from the engine thread: record it, then let the event loop publish (throttled).
            active.progress = min(1.0, max(active.progress, float(fraction)))
            if message:
                active.message = message[:300]
            active.changed = True
            if not active.publish_pending:
                active.publish_pending = True
                with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                    loop.call_soon_threadsafe(self._publish_progress, active)

        return progress

    def _publish_progress(self, active: _Active) -> None:
        wait = PUBLISH_EVERY_S - (time.monotonic() - active.last_publish)
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self._publish_progress_now, active)
            return
        self._publish_progress_now(active)

    def _publish_progress_now(self, active: _Active) -> None:
        active.publish_pending = False
        if active.job_id not in self._active:
            return
        active.last_publish = time.monotonic()
        publish(dataclasses.replace(active.view, progress=active.progress, message=active.message))

    async def _progress_writer(self, active: _Active) -> None:
        while True:
            await asyncio.sleep(DB_PROGRESS_EVERY_S)
            if not active.changed:
                continue
            active.changed = False
            async with session_scope() as session:
                cancel = await session.scalar(
                    update(Job)
                    .where(Job.id == active.job_id, Job.status == JOB_RUNNING)
                    .values(progress=active.progress, message=active.message)
                    .returning(Job.cancel_requested)
                )
            if cancel:
                active.cancel.set()

    async def _inputs(self, job: Job) -> tuple[assets.AssetView | None, bytes, ImageArray, dict[str, Any]]:
        if job.input_asset_id is None and not jobs.registry().get(job.tool).takes_photo:
            return None, b"", np.zeros((0, 0, 3), dtype=np.uint8), dict(job.params or {})  # text-to-image
        if job.input_asset_id is None:
            raise assets.AssetNotFound()
        async with session_scope() as session:
            source = await session.get(Asset, job.input_asset_id)
            if source is None or source.owner_id != job.user_id:
                raise assets.AssetNotFound()
            view = assets.to_view(source)
            params = dict(job.params or {})
            tool = jobs.registry().get(job.tool)
            extra: dict[str, assets.AssetView] = {}
            for name in tool.image_params():
                value = params.get(name)
                if value:
                    other = await session.get(Asset, str(value))
                    if other is None or other.owner_id != job.user_id:
                        raise assets.AssetNotFound()
                    extra[name] = assets.to_view(other)
        # The stored bytes travel with the request: remote providers (or the local engine handing a
        # request over to one) upload them as they are.
        data = await assets.read_bytes(view)
        pixels = await in_background(assets.decode_stored, data)
        for name, other_view in extra.items():
            params[name] = await in_background(assets.decode_stored, await assets.read_bytes(other_view))
        return view, data, pixels, params

    async def _run(self, active: _Active, provider: Provider) -> None:
        writer = asyncio.create_task(self._progress_writer(active))
        try:
            await self._execute(active, provider)
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(active.job_id, JOB_FAILED, STOPPED_MESSAGE))
            raise
        except Exception:
            log.exception("job %s crashed the runner task", active.job_id)
            await self._finish(active.job_id, JOB_FAILED, UNEXPECTED_MESSAGE.format(tool=active.view.tool_label))
        finally:
            writer.cancel()
            self._active.pop(active.job_id, None)
            self._wake.set()

    async def _execute(self, active: _Active, provider: Provider) -> None:
        loop = asyncio.get_running_loop()
        async with session_scope() as session:
            job = await session.get(Job, active.job_id)
        if job is None:
            return
        # One deadline for the whole job: reading and decoding the input, the tool, encoding and saving
        # the result. The watchdog skips active jobs, so nothing else would end a hung phase.
        deadline = loop.time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                saved = await self._compute(active, provider, job, loop)
                if saved is None:
                    return
                # The save runs as its own task so a timeout never interrupts it between the storage
                # write and the commit; a late save finds the job already failed and removes its files.
                save = asyncio.create_task(self._store(active, job, *saved))
                self._saves.add(save)
                save.add_done_callback(self._saves.discard)
                await asyncio.shield(save)
        except TimeoutError:
            active.cancel.set()  # the engine thread stops at the tool's next check
            await self._finish(job.id, JOB_FAILED, self._timeout_message())

    async def _compute(
        self, active: _Active, provider: Provider, job: Job, loop: asyncio.AbstractEventLoop
    ) -> tuple[assets.AssetView | None, ToolResult, Any] | None:
        """Inputs, tool and encoding; None when the job already ended (failed or cancelled)."""
        try:
            source, source_bytes, pixels, params = await self._inputs(job)
        except (assets.AssetNotFound, ToolError) as exc:
            await self._finish(job.id, JOB_FAILED, str(exc))
            return None
        request = ProviderRequest(
            tool=job.tool,
            image=pixels,
            source_bytes=source_bytes,
            source_mime=source.mime if source is not None else "",
            params=params,
            progress=self._progress_callback(active, loop),
            cancelled=active.cancel.is_set,
            user_id=job.user_id,
        )
        result: ToolResult
        try:
            result = await provider.run(request)
        except ToolCancelled:
            await self._finish(job.id, JOB_CANCELLED, None)
            return None
        except ToolError as exc:
            log.info("job %s (%s) failed: %s", job.id, job.tool, exc)
            await self._finish(job.id, JOB_FAILED, str(exc))
            return None
        except TimeoutError:
            raise
        except Exception:
            log.exception("job %s (%s) failed unexpectedly", job.id, job.tool)
            await self._finish(job.id, JOB_FAILED, UNEXPECTED_MESSAGE.format(tool=active.view.tool_label))
            return None
        if active.cancel.is_set():
            await self._finish(job.id, JOB_CANCELLED, None)
            return None
        active.message = "Saving…"
        try:
            encoded = await in_background(assets.encode_result, result.image, result.format_hint)
        except ImageInputError as exc:  # a result no format can hold (a WebP too wide, …): say so
            await self._finish(job.id, JOB_FAILED, str(exc))
            return None
        except TimeoutError:
            raise
        except Exception:
            log.exception("job %s (%s): the result could not be saved", job.id, job.tool)
            await self._finish(job.id, JOB_FAILED, UNEXPECTED_MESSAGE.format(tool=active.view.tool_label))
            return None
        return source, result, encoded

    async def _store(
        self, active: _Active, job: Job, source: assets.AssetView | None, result: ToolResult, encoded: Any
    ) -> None:
        note = (result.note or result.summary or "Done")[:300]
        stored: assets.AssetView | None = None
        try:
            async with session_scope() as session:
                if source is None:  # a new picture (text-to-image): a new photo in the library
                    stored = await assets.store_created(
                        session, owner_id=job.user_id, tool=job.tool, encoded=encoded, params=dict(job.params or {})
                    )
                else:
                    stored = await assets.store_result(
                        session,
                        owner_id=job.user_id,
                        parent_id=source.id,
                        pixels=result.image,
                        tool=job.tool,
                        encoded=encoded,
                    )
                view = await jobs.finish(
                    session,
                    job_id=job.id,
                    status=JOB_SUCCEEDED,
                    error=None,
                    message=note,
                    result_asset_id=stored.id,
                    from_states=(JOB_RUNNING,),
                )
                if view is None:
                    # Ended elsewhere meanwhile (cancel, watchdog, timeout): drop the result with this transaction.
                    raise _AlreadyFinished()
        except _AlreadyFinished:
            if stored is not None:
                await self._discard_files(stored)
            return
        except (assets.AssetNotFound, assets.AssetError) as exc:
            await self._finish(job.id, JOB_FAILED, str(exc))
            return
        publish(view)

    async def _discard_files(self, stored: assets.AssetView) -> None:
        """Remove the files of a result whose row was rolled back, unless another asset shares them
        (storage is content-addressed); the assets service knows which files uploads still claim."""
        keys = {(stored.storage_backend, k) for k in (stored.storage_key, stored.preview_key) if k}
        try:
            await assets.remove_unreferenced_files(keys)
        except Exception:
            log.exception("could not remove the files of a dropped result %s", stored.id)


class _AlreadyFinished(Exception):
    pass


# --- module-level service (lifecycle) -----------------------------------------------------------------

_runner: Runner | None = None


def get_runner() -> Runner | None:
    return _runner


async def start() -> None:
    global _runner  # noqa: PLW0603 - one runner per process
    if _runner is not None:
        return
    runner = Runner()
    await runner.start()
    _runner = runner


async def stop() -> None:
    global _runner
    runner, _runner = _runner, None
    if runner is not None:
        await runner.stop()


def wake() -> None:
    if _runner is not None:
        _runner.wake()


def request_cancel(job_id: str) -> None:
    if _runner is not None:
        _runner.request_cancel(job_id)
