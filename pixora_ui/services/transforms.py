"""Computing transformation URLs and converted downloads: once each, cached, bounded, de-duplicated.

transform(view, plan, *, accepts_webp) -> Outcome
    The image for (photo version, normalised transformation). A cache hit costs no database
    query and no decoding. Otherwise one computation runs per distinct key however many requests
    ask at once (they all wait for it), at most TRANSFORM_CONCURRENCY at a time, in worker
    threads. AI effects (`e-bgremove`, `e-upscale`, `e-retouch`) run first, each as a job of the
    photo's owner through the jobs service: the job's idempotency key is derived from the photo
    and the effects so far, so one distinct AI transformation is charged once, ever, however
    many requests, retries or restarts ask for it. When it is not ready within
    TRANSFORM_AI_WAIT_S, the outcome is `pending` (the route answers 202) while it carries on.
convert(view, fmt, quality) -> tuple[Entry, bytes]
    The photo in another format (`/media/…?format=`), through the same cache and limits.
reset() -> None
    Forget the cache index and limits (tests; settings changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from db.models import JOB_SUCCEEDED
from db.session import session_scope
from pixora_ui.engine.tools.registry import ToolError, ToolUnavailable
from pixora_ui.errors import PixoraError
from pixora_ui.services import jobs
from pixora_ui.services.assets import AssetNotFound, AssetView, find_asset, read_bytes
from pixora_ui.services.usage import LimitReached
from pixora_ui.settings import get_settings
from pixora_ui.transform import render
from pixora_ui.transform.cache import DiskCache, Entry
from pixora_ui.transform.syntax import AiEffect, Plan
from pixora_ui.transform.workers import Pool, RenderFailed

# Each AI effect and the Pixora tool (with fixed parameters) that runs it.
AI_TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "bgremove": ("remove-bg", {"mode": "standard"}),
    "removedotbg": ("remove-bg", {"mode": "pro"}),
    "upscale": ("upscale", {"scale": "2", "model": "fast"}),
    "retouch": ("retouch", {}),
}
RETRY_AFTER_S = 3
BIG_MP = 24
# A failed AI effect is answered from memory for a short while (as ImageKit does), so clients that
# poll do not start it again and again; after that a request tries again.
FAILURE_TTL_S = 30.0
_FAILURES_MAX = 10_000
log = logging.getLogger("pixora.transform")


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    entry: Entry | None = None
    data: bytes | None = None
    pending: bool = False
    status: int = 200  # an error's HTTP status when entry is None and not pending
    code: str = ""
    message: str = ""


class EffectFailed(PixoraError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, status, code)


class _State:
    def __init__(self) -> None:
        settings = get_settings()
        self.cache = DiskCache(settings.transform_cache_dir, max_bytes=settings.transform_cache_mb * 1024 * 1024)
        self.pool = Pool(settings.transform_concurrency)
        # Photos decoded above BIG_MP take the whole pool's memory budget: one at a time.
        self.big = asyncio.Lock()
        self.inflight: dict[str, asyncio.Task[tuple[Entry, bytes]]] = {}
        self.failures: dict[str, tuple[float, EffectFailed]] = {}
        self.loop = asyncio.get_running_loop()


_state: _State | None = None


def _current() -> _State:
    global _state  # noqa: PLW0603 - one cache and one limit per process (and event loop)
    if _state is None or _state.loop is not asyncio.get_running_loop():
        _state = _State()
    return _state


def reset() -> None:
    global _state  # noqa: PLW0603
    _state = None


async def start() -> None:
    """Nothing to do: the cache index and the workers start on first use."""


async def stop() -> None:
    """Stop the render workers (server shutdown)."""
    global _state  # noqa: PLW0603
    if _state is not None and _state.loop is asyncio.get_running_loop():
        await _state.pool.close()
    _state = None


def cache() -> DiskCache:
    return _current().cache


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(("v1", *parts)).encode()).hexdigest()


def cache_key(view: AssetView, plan: Plan, *, accepts_webp: bool) -> str:
    auto = ("webp" if accepts_webp else "no-webp") if plan.format == "auto" else ""
    # Plain transformations depend only on the pixels (shared by identical files); AI ones on the
    # owner's job for this very photo.
    basis = f"photo:{view.id}" if plan.ai else f"sha:{view.sha256}"
    return _digest("ik", basis, plan.canonical, auto)


async def _single(key: str, compute: Callable[[], Awaitable[tuple[Entry, bytes]]]) -> asyncio.Task[tuple[Entry, bytes]]:
    """The one task computing `key` (started now if none is running)."""
    state = _current()
    task = state.inflight.get(key)
    if task is None:
        task = asyncio.ensure_future(compute())
        state.inflight[key] = task

        def done(finished: asyncio.Task[tuple[Entry, bytes]]) -> None:
            if state.inflight.get(key) is finished:
                del state.inflight[key]
            if finished.cancelled():
                return
            failure = finished.exception()  # retrieved: waiters re-raise it; nobody waiting must not log it
            if isinstance(failure, EffectFailed):
                now = time.monotonic()
                if len(state.failures) >= _FAILURES_MAX:
                    for stale in [k for k, (until, _f) in state.failures.items() if until <= now]:
                        del state.failures[stale]
                if len(state.failures) < _FAILURES_MAX:
                    state.failures[key] = (now + FAILURE_TTL_S, failure)

        task.add_done_callback(done)
    return task


async def _bounded_render(key: str, view: AssetView, plan: Plan, accepts_webp: bool) -> tuple[Entry, bytes]:
    settings = get_settings()
    state = _current()
    max_pixels = max(settings.max_pixels, int(settings.upscale_max_mp * 1_000_000)) * 2
    factor = render.reduction(plan, view.width, view.height) if view.mime == "image/jpeg" else 1
    big = view.width * view.height / factor**2 > BIG_MP * 1_000_000
    async with state.big if big else contextlib.nullcontext():
        hit = await state.cache.get(key)  # finished by a request that ran just before us
        if hit is not None:
            return hit
        started = time.perf_counter()
        data = await read_bytes(view)
        source = render.Source(data=data, mime=view.mime, width=view.width, height=view.height, max_pixels=max_pixels)
        del data
        rendered = await state.pool.render(source, plan, accepts_webp)
        del source
        entry = await state.cache.put(key, rendered.data, rendered.mime)
        log.info(
            "computed image %s (%s, %dx%d) in %.0f ms",
            key[:16],
            plan.canonical or "original",
            rendered.width,
            rendered.height,
            (time.perf_counter() - started) * 1000,
        )
        return entry, rendered.data


def effect_key(photo_id: str, effects: tuple[AiEffect, ...]) -> str:
    """The jobs' idempotency key for these effects on this photo (one job, one charge, ever)."""
    return "ik-" + _digest("ai", photo_id, ":".join(effects))[:40]


async def _run_effects(view: AssetView, plan: Plan) -> AssetView:
    settings = get_settings()
    current = view
    for index, effect in enumerate(plan.ai):
        tool, params = AI_TOOLS[effect]
        key = effect_key(view.id, plan.ai[: index + 1])
        try:
            async with session_scope() as session:
                job = await jobs.find_by_key(session, user_id=view.owner_id, key=key)
                if job is None:
                    job = await jobs.submit(
                        session,
                        user_id=view.owner_id,
                        asset_id=current.id,
                        tool=tool,
                        params=dict(params),
                        idempotency_key=key,
                    )
        except LimitReached as exc:
            raise EffectFailed(402, "limit_reached", "The photo's owner has no AI edits left.") from exc
        except ToolUnavailable as exc:
            raise EffectFailed(503, "effect_unavailable", f"e-{effect} is not available on this server: {exc}") from exc
        except (AssetNotFound, ToolError) as exc:
            raise EffectFailed(422, "effect_failed", str(exc)) from exc
        if not job.done:
            job = await jobs.wait_for(job.id, user_id=view.owner_id, timeout=settings.job_timeout_s + 60)
        if job.status != JOB_SUCCEEDED or job.result_asset_id is None:
            reason = job.error or "It did not finish."
            raise EffectFailed(422, "effect_failed", f"e-{effect} failed: {reason}")
        async with session_scope() as session:
            result = await find_asset(session, asset_id=job.result_asset_id)
        if result is None:
            raise EffectFailed(410, "effect_deleted", f"The result of e-{effect} was deleted from the photo's history.")
        current = result
    return current


async def _compute(key: str, view: AssetView, plan: Plan, accepts_webp: bool) -> tuple[Entry, bytes]:
    source = await _run_effects(view, plan) if plan.ai else view
    return await _bounded_render(key, source, plan, accepts_webp)


async def transform(view: AssetView, plan: Plan, *, accepts_webp: bool) -> Outcome:
    key = cache_key(view, plan, accepts_webp=accepts_webp)
    state = _current()
    hit = await state.cache.get(key)
    if hit is not None:
        return Outcome(entry=hit[0], data=hit[1])
    failed = state.failures.get(key)
    if failed is not None:
        if failed[0] > time.monotonic():
            return Outcome(status=failed[1].status, code=failed[1].code, message=failed[1].message)
        del state.failures[key]
    task = await _single(key, lambda: _compute(key, view, plan, accepts_webp))
    try:
        if plan.ai:
            entry, data = await asyncio.wait_for(asyncio.shield(task), get_settings().transform_ai_wait_s)
        else:
            entry, data = await asyncio.shield(task)
    except TimeoutError:
        return Outcome(pending=True)
    except EffectFailed as exc:
        return Outcome(status=exc.status, code=exc.code, message=exc.message)
    except AssetNotFound:
        return Outcome(status=404, code="not_found", message="That photo was not found.")
    except RenderFailed as exc:
        return Outcome(status=422, code="transform_failed", message=str(exc))
    except Exception:
        log.exception("transformation %s failed", plan.canonical)
        return Outcome(status=500, code="transform_failed", message="The image could not be made. Please try again.")
    return Outcome(entry=entry, data=data)


Conversion = Literal["png", "jpeg", "webp"]


async def convert(view: AssetView, fmt: Conversion, quality: int) -> tuple[Entry, bytes]:
    """The whole photo re-encoded as `fmt` (cached; one computation per distinct request)."""
    plan = Plan(format={"jpeg": "jpg", "png": "png", "webp": "webp"}[fmt], quality=quality)  # type: ignore[arg-type]
    key = _digest("media", view.sha256, fmt, str(quality))
    state = _current()
    hit = await state.cache.get(key)
    if hit is not None:
        return hit
    task = await _single(key, lambda: _bounded_render(key, view, plan, False))
    return await asyncio.shield(task)
