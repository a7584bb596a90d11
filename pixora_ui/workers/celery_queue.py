"""Celery as the queue when QUEUE_URL is set (redis:// or amqp://): the web side.

The web process only sends messages ("job X is ready") by task name with `send_task`, so it never
imports the engine. The jobs table stays the source of truth: a worker claims the row before it
runs anything, so a duplicate delivery is dropped, and recovery does not wait for the broker.

Settings that matter for minute-long inference (reference/WORKERS.md):
- task_acks_late + task_reject_on_worker_lost: a message is acknowledged after its task, and goes
  back to the queue when the worker running it dies (the redelivered copy finds the row already
  claimed or failed and is dropped: a job that killed a worker is never re-run).
- worker_prefetch_multiplier=1: an idle-looking worker never hoards jobs.
- Redis visibility_timeout above the longest job (JOB_TIMEOUT_S), or Redis would hand a running
  job's message to a second worker.
- One queue per kind: `cpu`, `gpu` (heavy local tools when GPU_QUEUE is on) and `remote` (ImageKit,
  Gemini), so remote jobs never wait behind local inference.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache

import redis
from celery import Celery

from pixora_ui.services import job_queue
from pixora_ui.settings import Settings, get_settings

log = logging.getLogger("pixora.workers")

TASK_NAME = "pixora.run_job"
QUEUES = ("cpu", "gpu", "remote")
GPU_TOOLS = frozenset({"upscale", "remove-bg", "change-bg", "retouch", "smart-crop"})
REMOTE_PROVIDERS = frozenset({"imagekit", "gemini"})


def queue_name(settings: Settings, kind: str) -> str:
    """The broker queue of a kind; QUEUE_PREFIX keeps several deployments (or test runs) apart."""
    return f"{settings.queue_prefix}{kind}"


def kind_for(settings: Settings, *, tool: str, provider: str) -> str:
    if provider in REMOTE_PROVIDERS:
        return "remote"
    if settings.gpu_queue and tool in GPU_TOOLS:
        return "gpu"
    return "cpu"


def make_celery(settings: Settings) -> Celery:
    app = Celery("pixora", broker=settings.queue_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=queue_name(settings, "cpu"),
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Above the longest job: Redis re-delivers an un-acknowledged message after this.
            "visibility_timeout": settings.job_timeout_s * 2 + 300,
            "confirm_publish": True,  # RabbitMQ: no silent publish failures
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        broker_heartbeat=10,
    )
    return app


@cache
def celery_app(url: str) -> Celery:
    return make_celery(get_settings())


def send(job_id: str, *, tool: str, provider: str) -> None:
    """Put "job X is ready" on its kind's queue (blocking network I/O: call it from a thread)."""
    settings = get_settings()
    queue = queue_name(settings, kind_for(settings, tool=tool, provider=provider))
    celery_app(settings.queue_url).send_task(TASK_NAME, args=[job_id], queue=queue)


def broker_depth(settings: Settings) -> dict[str, int] | None:
    """Messages waiting per queue (Redis only: LLEN of each queue's list); None elsewhere."""
    if not settings.queue_url.startswith(("redis://", "rediss://")):
        return None

    client = redis.Redis.from_url(settings.queue_url, socket_timeout=2)
    try:
        return {kind: int(client.llen(queue_name(settings, kind))) for kind in QUEUES}
    finally:
        client.close()


def ready_listener(message: job_queue.Ready) -> None:
    """The job_queue listener of a web process in Celery mode: send without blocking the loop."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, lambda: send(message.job_id, tool=message.tool, provider=message.provider))
    future.add_done_callback(_log_send_failure)


def _log_send_failure(future: object) -> None:
    assert isinstance(future, asyncio.Future)
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not send a job to the queue; it is re-sent by the next sweep", exc_info=future.exception())
