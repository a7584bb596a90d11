"""Running one job in this process: claim the row, run the tool, store the result, finish.

The same code runs wherever a job runs: inside an engine worker process (the default), inside a
Celery worker (`QUEUE_URL`), or inside the web process when ENGINE_WORKERS=0 (tests, debugging).

- Claim: a conditional UPDATE (queued -> running, worker_id, lease_until). A job already claimed
  or finished is skipped, so a duplicate delivery never runs a job twice.
- Lease and progress: every second the row's lease is renewed, the latest progress written (at
  most once a second) and the cancel flag read; a job whose row was taken away (its lease expired
  and it was recovered) is stopped. Progress events go to `emit` at most every 0.2 s.
- One deadline (JOB_TIMEOUT_S) covers reading the input, the tool, encoding and saving.
- The result becomes a new asset whose parent is the input, stored in the same transaction that
  marks the job succeeded (credit kept). Failure, cancel or timeout: failed/cancelled, refunded.
- A failure records whether the same request can work if run again (`jobs.retryable`): yes for the
  deadline, a stop, an unexpected error and a ToolError raised as retryable (a provider outage);
  no for a ToolError about the photo or the settings, a photo gone, a result no format can hold.

One module on purpose: claim, heartbeat, run, store and finish are the steps of one job's lease;
splitting them would scatter the lease logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import select, update

from db.models import JOB_CANCELLED, JOB_FAILED, JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, Asset, Job, utcnow
from db.session import session_scope
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.engine.tools.registry import ImageArray, ToolCancelled, ToolError, ToolResult
from pixora_ui.providers import router
from pixora_ui.providers.base import Provider, ProviderRequest
from pixora_ui.providers.local import in_background
from pixora_ui.services import asset_encoding, asset_files, assets, jobs
from pixora_ui.services.job_views import JobView, result_fields, view_of

log = logging.getLogger("pixora.jobs")

Emit = Callable[[JobView], None]

EMIT_EVERY_S = 0.2
HEARTBEAT_EVERY_S = 1.0

TIMEOUT_MESSAGE = "This edit took longer than {minutes} and was stopped."
UNEXPECTED_MESSAGE = "Something went wrong while running {tool}."
STOPPED_MESSAGE = "The server was stopped while this edit was running."


def new_worker_id(kind: str = "worker") -> str:
    """A worker's name in the jobs table: host, process and a random part (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{kind}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def timeout_message(seconds: int) -> str:
    if seconds >= 60:
        minutes = round(seconds / 60, 1)
        text = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    else:
        text = f"{seconds} second" + ("" if seconds == 1 else "s")
    return TIMEOUT_MESSAGE.format(minutes=text)


def providers() -> dict[str, Provider]:
    return router.configured_providers()


def warm_registry() -> None:
    """Build the tool registry and the providers (imports model runtimes and SDKs once)."""
    jobs.registry()
    providers()


@dataclass
class Running:
    """One claimed job in this process."""

    job_id: str
    view: JobView
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: float = 0.0
    message: str = ""
    changed: bool = False
    last_emit: float = 0.0
    emit_pending: bool = False
    lost: bool = False  # the row was taken from this worker (its lease expired)


class _AlreadyFinished(Exception):
    pass


class JobExecutor:
    """Claims and runs jobs for one worker (`worker_id`); events go to `emit`."""

    def __init__(self, *, worker_id: str, emit: Emit, timeout_s: int, lease_s: int) -> None:
        self.worker_id = worker_id
        self.emit = emit
        self.timeout_s = timeout_s
        self.lease_s = lease_s
        self.saves: set[asyncio.Task[None]] = set()  # result saves that outlived their job's deadline

    # claim ---------------------------------------------------------------------------------------------

    async def claim(self, job_id: str) -> Running | None:
        """queued -> running for this worker; None when someone else has it or it is final."""
        async with session_scope() as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JOB_QUEUED)
                .values(
                    status=JOB_RUNNING,
                    started_at=utcnow(),
                    attempts=Job.attempts + 1,
                    message="Starting…",
                    worker_id=self.worker_id,
                    lease_until=utcnow() + timedelta(seconds=self.lease_s),
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            job = await session.get(Job, job_id, populate_existing=True)
            assert job is not None
            view = await view_of(session, job)
        running = Running(job_id=job_id, view=view, message=view.message)
        self.emit(view)
        return running

    async def claim_and_run(self, job_id: str) -> bool:
        """Claim then run; False when the claim failed (the message is dropped)."""
        running = await self.claim(job_id)
        if running is None:
            return False
        await self.run(running)
        return True

    # run -----------------------------------------------------------------------------------------------

    async def run(self, running: Running) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(running), name=f"pixora-heartbeat-{running.job_id}")
        try:
            await self._execute(running)
        except asyncio.CancelledError:
            await asyncio.shield(self.finish(running.job_id, JOB_FAILED, STOPPED_MESSAGE, retryable=True))
            raise
        except Exception:
            log.exception("job %s crashed its executor", running.job_id)
            await self.finish(
                running.job_id, JOB_FAILED, UNEXPECTED_MESSAGE.format(tool=running.view.tool_label), retryable=True
            )
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def finish(
        self,
        job_id: str,
        status: str,
        error: str | None,
        *,
        retryable: bool = False,
        message: str | None = None,
        from_states: tuple[str, ...] = (JOB_QUEUED, JOB_RUNNING),
    ) -> JobView | None:
        """End the job (see `jobs.finish`); `retryable`: a failure that running the same request again can fix."""
        text = message or ("Cancelled" if status == JOB_CANCELLED else "Failed")
        try:
            async with session_scope() as session:
                view = await jobs.finish(
                    session,
                    job_id=job_id,
                    status=status,
                    error=error,
                    message=text,
                    from_states=from_states,
                    retryable=retryable,
                )
        except Exception:
            log.exception("could not record the end of job %s", job_id)
            return None
        if view is not None:
            self.emit(view)
        return view

    # progress, lease, cancel ---------------------------------------------------------------------------

    def _progress_callback(self, running: Running, loop: asyncio.AbstractEventLoop) -> Callable[[float, str], None]:
        def progress(fraction: float, message: str) -> None:
            # Called from the engine thread: record it, then let the event loop emit (throttled).
            running.progress = min(1.0, max(running.progress, float(fraction)))
            if message:
                running.message = message[:300]
            running.changed = True
            if not running.emit_pending:
                running.emit_pending = True
                with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                    loop.call_soon_threadsafe(self._emit_progress, running)

        return progress

    def _emit_progress(self, running: Running) -> None:
        wait = EMIT_EVERY_S - (time.monotonic() - running.last_emit)
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self._emit_progress_now, running)
            return
        self._emit_progress_now(running)

    def _emit_progress_now(self, running: Running) -> None:
        running.emit_pending = False
        if running.lost or running.view.done:
            return
        running.last_emit = time.monotonic()
        self.emit(dataclasses.replace(running.view, progress=running.progress, message=running.message))

    async def _heartbeat(self, running: Running) -> None:
        """Renew the lease, write progress (at most once a second) and read the cancel flag."""
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY_S)
            values: dict[str, Any] = {"lease_until": utcnow() + timedelta(seconds=self.lease_s)}
            if running.changed:
                running.changed = False
                values.update(progress=running.progress, message=running.message)
            try:
                async with session_scope() as session:
                    row = (
                        await session.execute(
                            update(Job)
                            .where(Job.id == running.job_id, Job.status == JOB_RUNNING, Job.worker_id == self.worker_id)
                            .values(**values)
                            .returning(Job.cancel_requested)
                        )
                    ).one_or_none()
            except Exception:
                log.warning("could not renew the lease of job %s", running.job_id, exc_info=True)
                continue
            if row is None:
                running.lost = True  # finished elsewhere (cancel, recovery): stop working on it
                running.cancel.set()
                return
            if row.cancel_requested:
                running.cancel.set()

    # the job ------------------------------------------------------------------------------------------

    async def _execute(self, running: Running) -> None:
        loop = asyncio.get_running_loop()
        async with session_scope() as session:
            job = await session.get(Job, running.job_id)
        if job is None:
            return
        provider = providers().get(job.provider)
        if provider is None:
            await self.finish(
                job.id, JOB_FAILED, f"The {job.provider} provider is no longer configured on this server."
            )
            return
        # One deadline for the whole job: reading and decoding the input, the tool, encoding and saving.
        deadline = loop.time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                computed = await self._compute(running, provider, job, loop)
                if computed is None:
                    return
                # The save runs as its own task so a timeout never interrupts it between the storage
                # write and the commit; a late save finds the job already failed and removes its files.
                save = asyncio.create_task(self._store(running, job, *computed))
                self.saves.add(save)
                save.add_done_callback(self.saves.discard)
                await asyncio.shield(save)
        except TimeoutError:
            running.cancel.set()  # the engine thread stops at the tool's next check
            await self.finish(job.id, JOB_FAILED, timeout_message(self.timeout_s), retryable=True)

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
        # The stored bytes travel with the request: remote providers upload them as they are.
        data = await assets.read_bytes(view)
        pixels = await in_background(asset_encoding.decode_stored, data)
        for name, other_view in extra.items():
            params[name] = await in_background(asset_encoding.decode_stored, await assets.read_bytes(other_view))
        return view, data, pixels, params

    async def _compute(
        self, running: Running, provider: Provider, job: Job, loop: asyncio.AbstractEventLoop
    ) -> tuple[assets.AssetView | None, ToolResult, asset_encoding.EncodedImage] | None:
        """Inputs, tool and encoding; None when the job already ended (failed or cancelled)."""
        try:
            source, source_bytes, pixels, params = await self._inputs(job)
        except (assets.AssetNotFound, ToolError) as exc:  # the photo is gone or cannot be read
            await self.finish(job.id, JOB_FAILED, str(exc), retryable=getattr(exc, "retryable", False))
            return None
        request = ProviderRequest(
            tool=job.tool,
            image=pixels,
            source_bytes=source_bytes,
            source_mime=source.mime if source is not None else "",
            params=params,
            progress=self._progress_callback(running, loop),
            cancelled=running.cancel.is_set,
            user_id=job.user_id,
        )
        result: ToolResult
        try:
            result = await provider.run(request)
        except ToolCancelled:
            await self.finish(job.id, JOB_CANCELLED, None)
            return None
        except ToolError as exc:  # retryable where it was raised: a provider outage yes, a bad photo no
            log.info("job %s (%s) failed (retryable: %s): %s", job.id, job.tool, exc.retryable, exc)
            await self.finish(job.id, JOB_FAILED, str(exc), retryable=exc.retryable)
            return None
        except TimeoutError:
            raise
        except Exception:
            log.exception("job %s (%s) failed unexpectedly", job.id, job.tool)
            await self.finish(
                job.id, JOB_FAILED, UNEXPECTED_MESSAGE.format(tool=running.view.tool_label), retryable=True
            )
            return None
        if running.cancel.is_set():
            await self.finish(job.id, JOB_CANCELLED, None)
            return None
        running.message = "Saving…"
        try:
            encoded = await in_background(asset_encoding.encode_result, result.image, result.format_hint)
        except ImageInputError as exc:  # a result no format can hold (a WebP too wide, …): say so
            await self.finish(job.id, JOB_FAILED, str(exc))
            return None
        except TimeoutError:
            raise
        except Exception:
            log.exception("job %s (%s): the result could not be saved", job.id, job.tool)
            await self.finish(
                job.id, JOB_FAILED, UNEXPECTED_MESSAGE.format(tool=running.view.tool_label), retryable=True
            )
            return None
        return source, result, encoded

    async def _store(
        self,
        running: Running,
        job: Job,
        source: assets.AssetView | None,
        result: ToolResult,
        encoded: asset_encoding.EncodedImage,
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
                    # Ended elsewhere meanwhile (cancel, recovery, timeout): drop the result with this transaction.
                    raise _AlreadyFinished()
        except _AlreadyFinished:
            if stored is not None:
                await self._discard_files(stored)
            return
        except (assets.AssetNotFound, assets.AssetError) as exc:
            await self.finish(job.id, JOB_FAILED, str(exc))
            return
        running.view = view = dataclasses.replace(view, result=result_fields(stored))
        self.emit(view)

    async def _discard_files(self, stored: assets.AssetView) -> None:
        """Remove the files of a result whose row was rolled back, unless another asset shares them."""
        keys = {(stored.storage_backend, k) for k in (stored.storage_key, stored.preview_key) if k}
        try:
            await asset_files.remove_unreferenced_files(keys)
        except Exception:
            log.exception("could not remove the files of a dropped result %s", stored.id)


async def queued_jobs(limit: int = 100) -> list[tuple[str, str]]:
    """(job id, provider) of queued jobs, oldest first."""
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(Job.id, Job.provider)
                .where(Job.status == JOB_QUEUED)
                .order_by(Job.created_at, Job.id)
                .limit(limit)
            )
        ).all()
    return [(row.id, row.provider) for row in rows]
