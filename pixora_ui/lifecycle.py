"""Start-up and shutdown: migrations, background services, and a clean stop."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable

from db.migrate import upgrade
from db.session import dispose_engine
from pixora_ui.settings import Settings, get_settings

log = logging.getLogger("pixora")

# Background services: each module exposes `async start()` and `async stop()`.
SERVICE_MODULES: tuple[str, ...] = ("pixora_ui.workers.runner",)


def _services() -> list[tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]]:
    found = []
    for name in SERVICE_MODULES:
        module = importlib.import_module(name)
        found.append((module.start, module.stop))
    return found


_migrated_urls: set[str] = set()  # databases this process upgraded before serving


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
    settings = get_settings()
    for folder in (settings.data_dir, settings.media_dir, settings.models_dir, settings.outbox_dir):
        folder.mkdir(parents=True, exist_ok=True)
    # `main.py serve` migrated before listening; NiceGUI's simulated user (tests) starts here.
    if settings.auto_migrate and settings.effective_database_url not in _migrated_urls:
        await asyncio.to_thread(upgrade, settings)
    for feature in settings.features():
        if not feature.enabled:
            log.info("%s is off: %s", feature.name, feature.reason)
    for start, _stop in _services():
        await start()


async def shutdown() -> None:
    # Stop in reverse order: the job runner finishes or parks its jobs before the database closes.
    for _start, stop in reversed(_services()):
        try:
            await stop()
        except Exception:
            log.exception("error while stopping a service")
    await dispose_engine()
