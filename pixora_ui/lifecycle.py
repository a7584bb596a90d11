"""Start-up and shutdown: migrations, background services, and a clean stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nicegui.server import Server

from db.migrate import upgrade
from db.session import dispose_engine
from pixora_ui.engine.models.warmup import reset_state, start_background_warm_up
from pixora_ui.providers import local  # looked up at call time: tests swap local.engine_executor
from pixora_ui.services import transforms
from pixora_ui.settings import Settings, get_settings
from pixora_ui.workers import runner

log = logging.getLogger("pixora")


def _services() -> list[tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]]:
    """Background services, started in this order and stopped in reverse: the job runner, then the
    image-URL renderers."""
    return [(runner.start, runner.stop), (transforms.start, transforms.stop)]


_migrated_urls: set[str] = set()  # databases this process upgraded before serving
_tasks: set[asyncio.Task[None]] = set()
_starting: asyncio.Task[object] | None = None  # the start-up task while it runs
LISTEN_WAIT_S = 30.0
STARTUP_WAIT_S = 60.0


def _listening() -> bool | None:
    """Whether uvicorn accepts connections yet; None when none serves this app (NiceGUI's simulated user)."""
    server = getattr(Server, "instance", None)
    return None if server is None else bool(getattr(server, "started", False))


async def _warm_up_once_serving() -> None:
    """Start the model warm-up once the server listens: started earlier, its imports would hold the
    GIL while the server still starts up and delay the first /healthz answer."""
    deadline = asyncio.get_running_loop().time() + LISTEN_WAIT_S
    # uvicorn offers a flag, not an event; a server that never listens warms up after LISTEN_WAIT_S.
    while _listening() is False and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    start_background_warm_up(local.engine_executor())


def _warms_up_here(settings: Settings) -> bool:
    """Jobs run inside this process (no engine workers, no queue): then its models warm up here."""
    return settings.warm_up_models and settings.engine_workers == 0 and not settings.queue_url


def migrate_before_serving(settings: Settings) -> None:
    """Upgrade the schema before the server accepts a connection.

    NiceGUI runs `on_startup` coroutines as background tasks, so a request could otherwise reach
    a brand-new database before its tables exist; `startup` then skips the work.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.auto_migrate:
        upgrade(settings)
        _migrated_urls.add(settings.effective_database_url)


async def startup() -> None:
    global _starting  # noqa: PLW0603 - one start-up at a time per process
    _starting = asyncio.current_task()
    try:
        await _start()
    finally:
        _starting = None


async def _start() -> None:
    settings = get_settings()
    for folder in (settings.data_dir, settings.media_dir, settings.models_dir, settings.outbox_dir):
        folder.mkdir(parents=True, exist_ok=True)
    # `main.py serve` migrated before listening; NiceGUI's simulated user (tests) starts here.
    if settings.auto_migrate and settings.effective_database_url not in _migrated_urls:
        await asyncio.to_thread(upgrade, settings)
    for feature in settings.features():
        if not feature.enabled:
            log.info("%s is off: %s", feature.name, feature.reason)
    if _warms_up_here(settings):
        # The models load in the engine executor while the server already answers (/healthz shows
        # the progress); the first edit then costs what a warm one does. With engine workers (the
        # default) no model runs in this process: each worker warms up itself.
        task = asyncio.create_task(_warm_up_once_serving(), name="pixora-warm-up")
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
    for start, _stop in _services():
        await start()


async def _wait_for_startup() -> None:
    """NiceGUI runs start-up as a background task, so a stop can come while it still runs (a server
    stopped at once). Let it finish first: a service it started after the stop would stay behind,
    bound to a closed event loop."""
    starting = _starting
    if starting is None or starting is asyncio.current_task() or starting.done():
        return
    done, _pending = await asyncio.wait({starting}, timeout=STARTUP_WAIT_S)
    if not done:
        starting.cancel()
        await asyncio.wait({starting})


async def shutdown() -> None:
    await _wait_for_startup()
    # Stop in reverse order: the job runner finishes or parks its jobs before the database closes.
    for _start, stop in reversed(_services()):
        try:
            await stop()
        except Exception:
            log.exception("error while stopping a service")
    if _warms_up_here(get_settings()):
        reset_state()  # the engine executor is gone; a server started again warms up again (cheaply)
    await dispose_engine()
