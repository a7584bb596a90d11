"""One engine worker process: `python -m pixora_ui.workers.engine_process FD WORKER_ID LANE`
(LANE: `local` loads the local models at start; `remote` only calls ImageKit and Gemini).

Started by the pool in `main.py serve` as a fresh interpreter (never a fork of the web process,
whose threads and loaded runtimes must not be copied). It talks to the supervisor over the
socket FD it inherits, with `multiprocessing.connection` messages (tuples):

    supervisor -> worker   ("run", job_id)  ("cancel", job_id)  ("stop",)
    worker -> supervisor   ("ready", [model names])  ("event", wire view)  ("done", job_id, ran)

The worker loads its models once, then claims and runs each job it is handed with
`services.job_execution` (claim, lease, progress, result and finish in one transaction). It runs
at a lower CPU priority than the web process, so pages stay responsive while every core computes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import socket
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from db.session import dispose_engine
from pixora_ui.engine.tools import catalog
from pixora_ui.logs import configure_logging
from pixora_ui.services.job_execution import JobExecutor, Running, warm_registry
from pixora_ui.services.job_views import to_wire
from pixora_ui.settings import get_settings
from pixora_ui.workers.warm import warm_models

log = logging.getLogger("pixora.workers")

WORKER_NICE = 10
STOP_WAIT_S = 5.0
REGISTRY_ENV = "ENGINE_TOOL_REGISTRY"  # "module:function" building the tool registry (tests, plug-ins)


def install_registry_factory(spec: str) -> None:
    """Use `module:function()` as the tool registry in this process (the test tools, a plug-in)."""
    module_name, _, function_name = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), function_name)
    registry = factory()

    catalog.get_registry = lambda: registry  # type: ignore[assignment]


class _Worker:
    def __init__(self, connection: Connection, worker_id: str) -> None:
        settings = get_settings()
        self.connection = connection
        self.send_lock = threading.Lock()
        self.executor = JobExecutor(
            worker_id=worker_id, emit=self._emit, timeout_s=settings.job_timeout_s, lease_s=settings.job_lease_s
        )
        self.running: dict[str, Running] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.stop = asyncio.Event()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.connection.send(message)

    def _emit(self, view: Any) -> None:
        with contextlib.suppress(OSError):  # the supervisor is gone: the worker is being stopped
            self.send(("event", to_wire(view)))

    async def run_job(self, job_id: str) -> None:
        ran = False
        try:
            running = await self.executor.claim(job_id)
            if running is not None:
                ran = True
                self.running[job_id] = running
                await self.executor.run(running)
        except Exception:
            log.exception("job %s failed in its worker", job_id)
        finally:
            self.running.pop(job_id, None)
            with contextlib.suppress(OSError):
                self.send(("done", job_id, ran))

    def handle(self, message: tuple[Any, ...]) -> None:
        match message:
            case ("run", str(job_id)):
                task = asyncio.get_running_loop().create_task(self.run_job(job_id), name=f"pixora-job-{job_id}")
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            case ("cancel", str(job_id)):
                running = self.running.get(job_id)
                if running is not None:
                    running.cancel.set()
            case ("stop",):
                self.stop.set()
            case _:
                log.warning("unknown message from the supervisor: %r", message)

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()

        def read() -> None:
            try:
                while True:
                    loop.call_soon_threadsafe(self.handle, self.connection.recv())
            except (EOFError, OSError):
                loop.call_soon_threadsafe(self.stop.set)  # the supervisor went away: stop too

        threading.Thread(target=read, name="pixora-worker-pipe", daemon=True).start()
        await self.stop.wait()
        for running in self.running.values():
            running.cancel.set()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=STOP_WAIT_S)

        await dispose_engine()


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICE)


def main(argv: list[str]) -> int:
    fd, worker_id = int(argv[0]), argv[1]
    lane = argv[2] if len(argv) > 2 else "local"
    # Ctrl-C in a terminal reaches the whole process group: the supervisor decides when a worker
    # stops (it sends "stop"; a worker also stops when the supervisor's end of the pipe closes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower_priority()

    settings = get_settings()
    configure_logging(settings)
    connection = Connection(socket.socket(fileno=fd).detach())
    factory = os.environ.get(REGISTRY_ENV, "")
    if factory:
        install_registry_factory(factory)

    warm_registry()
    loaded = warm_models() if settings.worker_warm_models and lane == "local" else []
    worker = _Worker(connection, worker_id)
    worker.send(("ready", loaded))
    asyncio.run(worker.serve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
