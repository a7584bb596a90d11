"""GET /healthz: database, storage, models, the model warm-up, engine workers (alive, busy, models
loaded) and queue depth; 503 when the database is unreachable."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from db.session import get_engine
from pixora_ui import __version__
from pixora_ui.engine.models.warmup import warm_up_state
from pixora_ui.settings import get_settings
from pixora_ui.workers import runner


async def _database_status() -> dict[str, Any]:
    try:
        async with asyncio.timeout(3):
            async with get_engine().connect() as connection:
                await connection.execute(text("SELECT 1"))
        return {"ok": True, "backend": "sqlite" if get_settings().is_sqlite else "postgresql"}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _storage_status() -> dict[str, Any]:
    settings = get_settings()
    media = settings.media_dir
    try:
        media.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(media).free
        return {"ok": True, "backend": "imagekit" if settings.imagekit_uploads else "local", "free_bytes": free}
    except OSError as exc:
        return {"ok": False, "error": type(exc).__name__}


def _model_status() -> dict[str, Any]:
    from pixora_ui.engine.models.weights import model_statuses  # noqa: PLC0415 - kept out of the web server's start

    return {status.name: status.installed for status in model_statuses(get_settings().models_dir)}


async def _jobs_status(database_ok: bool) -> dict[str, Any]:
    workers = runner.worker_status()
    status: dict[str, Any] = {
        "mode": runner.mode(),
        "workers": workers,
        "workers_alive": sum(1 for w in workers if w["alive"]),
        "workers_busy": sum(1 for w in workers if w["busy"]),
    }
    if database_ok:
        try:
            async with asyncio.timeout(3):
                status["queue_depth"] = await runner.queue_depth()
        except Exception as exc:
            status["queue_depth"] = None
            status["error"] = type(exc).__name__
    return status


async def healthz() -> JSONResponse:
    database = await _database_status()
    # File-system checks go to a thread: a slow disk must not stall the event loop.
    storage, models = await asyncio.gather(asyncio.to_thread(_storage_status), asyncio.to_thread(_model_status))
    body = {
        "status": "ok" if database["ok"] else "unavailable",
        "version": __version__,
        "database": database,
        "storage": storage,
        "models": models,
        # off / pending / running / ready / failed, per model, and how long it took: edits work
        # throughout, the first one is simply slower until "ready".
        "warm_up": warm_up_state().as_dict(),
        "jobs": await _jobs_status(database["ok"]),
    }
    return JSONResponse(body, status_code=200 if database["ok"] else 503, headers={"Cache-Control": "no-store"})


def register(app: FastAPI) -> None:
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
