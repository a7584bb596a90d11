"""`main.py worker [--queues cpu,gpu,remote]`: a Celery worker for any machine that shares the
database and the storage (ImageKit, or a shared volume for local storage).

Each worker process runs one job at a time (Celery's solo pool: the models are loaded once, in
this process, and stay warm); run as many processes as the machine has room for. The task only
carries a job id: the worker claims the row (a duplicate delivery is dropped), renews its lease,
runs the tool, stores the result and finishes the job in one transaction, and publishes every
change on the Redis event bus for the web processes.

A worker killed mid-job (segfault, OOM, kill -9) leaves its message un-acknowledged; the broker
re-delivers it and the copy is dropped (the row is claimed or already failed). The web processes'
recovery pass fails the job and refunds its credit once its lease expires. A cancel the tool does
not honour within 1.5 s ends the job as cancelled and exits this process (its supervisor - Docker,
systemd, Render - starts a new one): ncnn and onnxruntime calls cannot be interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from celery import Celery

from db.models import JOB_CANCELLED, JOB_RUNNING
from db.session import session_scope
from pixora_ui.services import jobs
from pixora_ui.services.event_bus import EventPublisher
from pixora_ui.services.job_execution import JobExecutor, Running, new_worker_id, warm_registry
from pixora_ui.services.job_views import JobView
from pixora_ui.settings import get_settings
from pixora_ui.workers.celery_queue import QUEUES, TASK_NAME, make_celery, queue_name
from pixora_ui.workers.engine_process import REGISTRY_ENV, install_registry_factory
from pixora_ui.workers.warm import warm_models

log = logging.getLogger("pixora.workers")

CANCEL_GRACE_S = 1.5
EXIT_AFTER_STUCK_CANCEL = 70  # EX_SOFTWARE: the tool ignored a cancel


class _Runtime:
    """This process's worker: one event loop, one executor, one publisher, kept across tasks."""

    def __init__(self) -> None:
        settings = get_settings()
        self.loop = asyncio.new_event_loop()
        self.publisher = EventPublisher(settings) if settings.event_bus_url else None
        self.executor = JobExecutor(
            worker_id=new_worker_id("celery"),
            emit=self._emit,
            timeout_s=settings.job_timeout_s,
            lease_s=settings.job_lease_s,
        )

    def _emit(self, view: JobView) -> None:
        if self.publisher is not None:
            self.publisher.publish(view)

    def run(self, job_id: str) -> bool:
        return self.loop.run_until_complete(self._run(job_id))

    async def _run(self, job_id: str) -> bool:
        running = await self.executor.claim(job_id)
        if running is None:
            log.info("job %s is already claimed or finished: message dropped", job_id)
            return False
        watchdog = asyncio.create_task(self._cancel_watchdog(running))
        try:
            await self.executor.run(running)
        finally:
            watchdog.cancel()
            running.lost = True  # over: release the watchdog's waiting thread without acting
            running.cancel.set()
        return True

    async def _cancel_watchdog(self, running: Running) -> None:
        """End the job and this process when the tool ignores a cancel for CANCEL_GRACE_S."""
        # The cancel flag is a threading.Event (the engine thread reads it): wait for it in a thread.
        await asyncio.to_thread(running.cancel.wait)
        if running.lost:
            return
        await asyncio.sleep(CANCEL_GRACE_S)
        async with session_scope() as session:
            view = await jobs.finish(
                session,
                job_id=running.job_id,
                status=JOB_CANCELLED,
                error=None,
                message="Cancelled",
                from_states=(JOB_RUNNING,),
                held_by=self.executor.worker_id,
            )
        if view is not None:
            self._emit(view)
        log.warning(
            "job %s did not stop within %.1f s of its cancel: restarting the worker", running.job_id, CANCEL_GRACE_S
        )
        os._exit(EXIT_AFTER_STUCK_CANCEL)


_runtime: _Runtime | None = None


def _get_runtime() -> _Runtime:
    global _runtime  # noqa: PLW0603 - one per worker process
    if _runtime is None:
        _runtime = _Runtime()
    return _runtime


def create_app() -> Celery:
    app = make_celery(get_settings())

    @app.task(name=TASK_NAME, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> bool:
        return _get_runtime().run(job_id)

    return app


def parse_queues(text: str) -> list[str]:
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in kinds if kind not in QUEUES]
    if unknown or not kinds:
        raise ValueError(f"unknown queue {', '.join(unknown) or '(none)'}: choose from {', '.join(QUEUES)}")
    return kinds


def main(kinds: Sequence[str], *, name: str | None = None) -> int:
    """Run a worker on these kinds' queues until stopped (SIGTERM: finish the job, then exit)."""
    settings = get_settings()
    if not settings.queue_url:
        raise SystemExit("QUEUE_URL is not set: `main.py worker` takes jobs from Celery (redis:// or amqp://).")

    factory = os.environ.get(REGISTRY_ENV, "")
    if factory:
        install_registry_factory(factory)
    warm_registry()
    loaded = warm_models() if settings.worker_warm_models else []
    log.info("worker ready", extra={"queues": list(kinds), "models": loaded})
    app = create_app()
    node = name or f"pixora-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    argv: list[Any] = [
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname={node}",
        f"--queues={','.join(queue_name(settings, kind) for kind in kinds)}",
        f"--loglevel={settings.log_level}",
    ]
    app.worker_main(argv)
    return 0
