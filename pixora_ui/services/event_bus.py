"""Job events across processes over Redis pub/sub (EVENTS_URL, or QUEUE_URL when it is Redis).

Celery workers publish every change of a job here; each web process subscribes and hands what it
receives to `job_events.deliver`, which reaches that process's pages. A web process also forwards
the changes it makes itself (submit, cancel), so a page served by another instance sees them.
Payloads carry the job's view (small: ids, status, progress, message), one channel per deployment.
Account events (`services.user_events`: a plan or usage changed) share the channel: `{"user": id}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import redis
import redis.asyncio as aioredis

from pixora_ui.services import job_events, user_events
from pixora_ui.services.job_views import JobView, from_wire, to_wire
from pixora_ui.settings import Settings

log = logging.getLogger("pixora.jobs")

RECONNECT_S = 1.0


def channel(settings: Settings) -> str:
    return f"{settings.queue_prefix}job-events"


def _payload(origin: str, view: JobView) -> str:
    return json.dumps({"origin": origin, "view": to_wire(view)}, separators=(",", ":"))


def _user_payload(origin: str, user_id: int) -> str:
    return json.dumps({"origin": origin, "user": user_id}, separators=(",", ":"))


class EventPublisher:
    """Blocking publisher for worker processes (no event loop of their own to share)."""

    def __init__(self, settings: Settings) -> None:
        self.client = redis.Redis.from_url(settings.event_bus_url, socket_timeout=5)
        self.channel = channel(settings)
        self.origin = uuid.uuid4().hex

    def publish(self, view: JobView) -> None:
        try:
            self.client.publish(self.channel, _payload(self.origin, view))
        except redis.RedisError:
            log.warning("could not publish a job event", exc_info=True)

    def publish_user(self, user_id: int) -> None:
        try:
            self.client.publish(self.channel, _user_payload(self.origin, user_id))
        except redis.RedisError:
            log.warning("could not publish an account event", exc_info=True)

    def close(self) -> None:
        self.client.close()


class EventBus:
    """A web process's link to the bus: listens (deliver to pages here) and forwards local changes."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.event_bus_url
        self.channel = channel(settings)
        self.origin = uuid.uuid4().hex
        self.client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[Any]] = set()
        self._remove_forwarder = job_events.add_forwarder(self._forward)
        self._remove_user_forwarder = user_events.add_forwarder(self._forward_user)
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        self.client = aioredis.Redis.from_url(self.url)
        self._listener = asyncio.create_task(self._listen(), name="pixora-event-bus")

    async def stop(self) -> None:
        self._remove_forwarder()
        self._remove_user_forwarder()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._sends:
            await asyncio.wait(list(self._sends), timeout=2)
        if self.client is not None:
            await self.client.aclose()

    def _forward(self, view: JobView) -> None:
        self._send(_payload(self.origin, view))

    def _forward_user(self, user_id: int) -> None:
        self._send(_user_payload(self.origin, user_id))

    def _send(self, payload: str) -> None:
        if self.client is None:
            return
        task = asyncio.ensure_future(self.client.publish(self.channel, payload))
        self._sends.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[Any]) -> None:
        self._sends.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not forward a job event", exc_info=task.exception())

    async def _listen(self) -> None:
        assert self.client is not None
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        data = json.loads(message["data"])
                        if data.get("origin") == self.origin:
                            continue
                        if "user" in data:
                            if isinstance(data["user"], int):
                                user_events.deliver(data["user"])
                        else:
                            job_events.deliver(from_wire(data["view"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                log.warning("job event bus disconnected; reconnecting", exc_info=True)
                await asyncio.sleep(RECONNECT_S)
