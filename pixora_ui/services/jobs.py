"""Jobs: every AI or basic edit is a job, submitted here and run by a worker.

The pipeline runs one way: submit (credit reserved, job row `queued`) -> `job_queue.enqueue` ->
a worker claims the row and runs the tool (`services.job_execution`) -> result stored and job
finished in one transaction -> `job_events.publish` -> the page.

API (all take the caller's AsyncSession first; none commits - use `async with session_scope()`):

    submit(session, *, user_id, asset_id, tool, params=None, idempotency_key=None, provider=None,
           batch_id=None) -> JobView
        Validates `params` against the tool registry (unknown names, types, ranges -> ParamError),
        resolves kind-"image" parameters to the user's own assets (AssetNotFound otherwise), picks
        the provider (providers.router.choose; ToolUnavailable when none can run it), reserves one
        credit for tools that cost one and users with a limit (LimitReached at the limit), stores a
        `queued` job and returns at once. It is enqueued after the caller commits.
        The same idempotency key twice (double click, retry) returns the same job and charges once,
        even when both requests race: the key is unique per user in the database.
        `batch_id` files the job under a batch (services.batches submits one job per photo here).
    cancel(session, *, user_id, job_id) -> JobView
        A queued job is cancelled at once (credit refunded); a running one is asked to stop and
        ends `cancelled` (credit refunded) as soon as the tool notices.
    get_job(session, *, user_id, job_id) -> JobView          (JobNotFound for another user's job)
    list_recent(session, *, user_id, limit=20) -> list[JobView]   newest first
    queue_position(session, *, job_id) -> int | None          1 = next to run; None when not queued
    subscribe(key, callback) -> unsubscribe                   key: a job id (str) or a user id (int);
        callback(JobView) is called on the event loop for every change (may be async). Re-exported
        from services.job_events.
    wait_for(job_id, *, user_id, timeout) -> JobView          until the job is final or the timeout
    finish(session, *, job_id, status, ..., retryable=False) -> JobView | None
        Final state once; credit kept or refunded. A failure records whether running the same
        request again can work (`JobView.retryable`): the studio offers "Try again" only then.
    recover_expired_leases(session, *, lease_s) -> list[JobView]   fail + refund jobs whose worker is gone

JobView is plain data (never an ORM object): safe to keep in a page and to push to it.
Errors carry messages that are safe to show to users.

One module on purpose: submit, cancel, finish and lease recovery are the transitions of the job
row and its credit, kept together so a credit is reserved once and kept or refunded once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    CREDIT_KEPT,
    CREDIT_NONE,
    CREDIT_REFUNDED,
    CREDIT_RESERVED,
    JOB_CANCELLED,
    JOB_FAILED,
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    Asset,
    Job,
    new_id,
    utcnow,
)
from db.session import on_commit
from pixora_ui.engine.tools.registry import ParamError, Tool, ToolError
from pixora_ui.providers import router
from pixora_ui.services import job_events, job_queue, usage
from pixora_ui.services.assets import AssetNotFound
from pixora_ui.services.job_views import (
    JobError,
    JobNotFound,
    JobView,
    estimate_seconds,
    queue_position,
    registry,
    to_view,
    view_of,
)
from pixora_ui.services.usage import LimitReached

__all__ = [
    "AssetNotFound",
    "JobError",
    "JobNotFound",
    "JobView",
    "LimitReached",
    "ParamError",
    "ToolError",
    "cancel",
    "estimate_seconds",
    "find_by_key",
    "get_job",
    "list_recent",
    "queue_position",
    "recover_expired_leases",
    "registry",
    "submit",
    "subscribe",
    "to_view",
    "view_of",
    "wait_for",
]

LEASE_LOST_MESSAGE = "The worker running this edit stopped before it finished (a crash or a restart)."

REFUND_NOTE = "Your credit was refunded."
_IDEMPOTENCY_MAX = 100


async def _owned_job(session: AsyncSession, *, user_id: int, job_id: str) -> Job:
    if not isinstance(job_id, str) or not job_id or len(job_id) > 32:
        raise JobNotFound()
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or job.user_id != user_id:
        raise JobNotFound()
    return job


async def get_job(session: AsyncSession, *, user_id: int, job_id: str) -> JobView:
    return await view_of(session, await _owned_job(session, user_id=user_id, job_id=job_id))


async def list_recent(session: AsyncSession, *, user_id: int, limit: int = 20) -> list[JobView]:
    rows = (
        await session.scalars(
            select(Job)
            .where(Job.user_id == user_id)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(max(1, min(limit, 200)))
        )
    ).all()
    return [to_view(job) for job in rows]


async def _by_key(session: AsyncSession, *, user_id: int, key: str) -> Job | None:
    return (
        await session.scalars(
            select(Job)
            .where(Job.user_id == user_id, Job.idempotency_key == key)
            .execution_options(populate_existing=True)
        )
    ).first()


async def find_by_key(session: AsyncSession, *, user_id: int, key: str) -> JobView | None:
    """The user's job submitted with this idempotency key, if any."""
    job = await _by_key(session, user_id=user_id, key=key)
    return None if job is None else await view_of(session, job)


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert(Job) if dialect == "postgresql" else sqlite_insert(Job)


async def _resolve_image_params(
    session: AsyncSession, *, user_id: int, tool: Tool, params: dict[str, Any]
) -> dict[str, Any]:
    for name in tool.image_params():
        value = params.get(name)
        if value is None or value == "":
            continue
        asset = await session.get(Asset, str(value))
        if asset is None or asset.owner_id != user_id or asset.deleted_at is not None:
            raise AssetNotFound()
    return params


async def submit(
    session: AsyncSession,
    *,
    user_id: int,
    asset_id: str | None,
    tool: str,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    provider: str | None = None,
    batch_id: str | None = None,
) -> JobView:
    """Queue `tool` on the user's asset; see the module docstring for the rules."""
    key = (idempotency_key or "").strip()[:_IDEMPOTENCY_MAX] or uuid.uuid4().hex
    existing = await _by_key(session, user_id=user_id, key=key)
    if existing is not None:
        return await view_of(session, existing)

    spec = registry().get(tool)  # ToolError("Unknown tool") for a name that is not registered
    if not isinstance(params, dict | None):
        raise ParamError("Parameters must be an object")
    clean = spec.validate(dict(params or {}))
    asset = await session.get(Asset, asset_id) if isinstance(asset_id, str) and len(asset_id) <= 32 else None
    if not spec.takes_photo:
        asset = None  # the tool makes a new picture (text-to-image): no input photo
    elif asset is None or asset.owner_id != user_id or asset.deleted_at is not None:
        raise AssetNotFound()
    clean = await _resolve_image_params(session, user_id=user_id, tool=spec, params=clean)
    # ToolUnavailable with the reason when nothing can run it; params route generative requests.
    chosen = router.choose(tool, provider, params=clean)

    charged = False
    if spec.charges(clean):
        try:
            charged = await usage.reserve_credit(session, user_id=user_id)
        except LimitReached:
            # A concurrent request with the same key may have taken the last credit: same job, no error.
            existing = await _by_key(session, user_id=user_id, key=key)
            if existing is not None:
                return await view_of(session, existing)
            raise

    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "input_asset_id": asset.id if asset is not None else None,
        "tool": tool,
        "params": clean,
        "provider": chosen.name,
        "status": JOB_QUEUED,
        "progress": 0.0,
        "message": "Waiting to start…",
        "credit_state": CREDIT_RESERVED if charged else CREDIT_NONE,
        "idempotency_key": key,
        "attempts": 0,
        "cancel_requested": False,
        "created_at": utcnow(),
        "batch_id": batch_id,
    }
    statement = (
        _insert(session)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "idempotency_key"])
        .returning(Job.id)
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    if inserted is None:
        # Lost the race for this key: give the credit back in the same transaction, return the winner.
        if charged:
            await usage.refund_credit(session, user_id=user_id)
        existing = await _by_key(session, user_id=user_id, key=key)
        if existing is None:  # the winner rolled back between our insert and this read
            raise JobError("Please try again.")
        return await view_of(session, existing)

    # Built from what was just written (no re-read): submit stays a handful of statements.
    ahead = await session.scalar(
        select(func.count()).select_from(Job).where(Job.status == JOB_QUEUED, Job.created_at < values["created_at"])
    )
    megapixels = asset.width * asset.height / 1_000_000 if asset is not None else None
    view = to_view(Job(**values), queue_position=int(ahead or 0) + 1, megapixels=megapixels)
    _after_commit(session, lambda: _announce(view))
    return view


def _after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    on_commit(session, callback)


def _announce(view: JobView) -> None:
    job_events.publish(view)
    job_queue.enqueue(job_queue.Ready(job_id=view.id, tool=view.tool, provider=view.provider))


async def cancel(session: AsyncSession, *, user_id: int, job_id: str) -> JobView:
    """Cancel a job: at once when queued (credit refunded), or ask the running tool to stop."""
    job = await _owned_job(session, user_id=user_id, job_id=job_id)
    if job.status == JOB_QUEUED:
        finished = await finish(
            session,
            job_id=job.id,
            status=JOB_CANCELLED,
            error=None,
            message="Cancelled",
            from_states=(JOB_QUEUED,),
        )
        if finished is not None:
            _after_commit(session, lambda: job_events.publish(finished))
            return finished
        job = await _owned_job(session, user_id=user_id, job_id=job_id)
    if job.status == JOB_RUNNING and not job.cancel_requested:
        job.cancel_requested = True
        job.message = "Cancelling…"
        await session.flush()
        view = await view_of(session, job)
        _after_commit(session, lambda: _cancel_requested(view))
        return view
    return await view_of(session, job)


def _cancel_requested(view: JobView) -> None:
    job_events.publish(view)
    job_queue.request_cancel(view.id)


async def finish(
    session: AsyncSession,
    *,
    job_id: str,
    status: str,
    error: str | None,
    message: str,
    result_asset_id: str | None = None,
    from_states: tuple[str, ...] = (JOB_QUEUED, JOB_RUNNING),
    lease_expired_by: datetime | None = None,
    held_by: str | None = None,
    retryable: bool = False,
) -> JobView | None:
    """Move a job to a final state exactly once, and settle its credit: kept on success, refunded
    otherwise. Returns None when the job was already final (someone else finished it).

    `retryable` (failures only): whether the same request can work if run again (a timeout, a
    provider outage, a worker that stopped) rather than fail the same way (the photo or the
    settings); stored as `jobs.retryable`, NULL for any other final state.

    `lease_expired_by`: only when the job's lease ended before this time (recovery), so a worker
    whose heartbeat renewed the lease meanwhile keeps its job. `held_by`: only while that worker
    holds it (the supervisor ending the job of a worker that died)."""
    succeeded = status == JOB_SUCCEEDED
    conditions = [Job.id == job_id, Job.status.in_(from_states)]
    if lease_expired_by is not None:
        conditions.append(or_(Job.lease_until.is_(None), Job.lease_until < lease_expired_by))
    if held_by is not None:
        conditions.append(Job.worker_id == held_by)
    result = await session.execute(
        update(Job)
        .where(*conditions)
        .values(
            status=status,
            error=error,
            message=message,
            result_asset_id=result_asset_id,
            retryable=retryable if status == JOB_FAILED else None,
            finished_at=utcnow(),
            progress=1.0 if succeeded else Job.progress,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return None
    settle = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.credit_state == CREDIT_RESERVED)
        .values(credit_state=CREDIT_KEPT if succeeded else CREDIT_REFUNDED)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(settle, CursorResult)
    job = await session.get(Job, job_id, populate_existing=True)
    assert job is not None
    if settle.rowcount == 1 and not succeeded:
        await usage.refund_credit(session, user_id=job.user_id)
        if error is not None and REFUND_NOTE not in error:
            job.error = f"{error} {REFUND_NOTE}"
        elif error is None and status == JOB_CANCELLED:
            job.message = f"Cancelled. {REFUND_NOTE}"
        await session.flush()
    return to_view(job)


async def queued_count(session: AsyncSession) -> int:
    """How many jobs wait for a worker (all users)."""
    return int(await session.scalar(select(func.count()).select_from(Job).where(Job.status == JOB_QUEUED)) or 0)


async def expired_leases(session: AsyncSession, *, now: datetime, lease_s: float) -> list[str]:
    """Running jobs whose worker stopped renewing the lease (a row from before leases existed has
    none: it counts as expired once it has run longer than one lease)."""
    rows = await session.scalars(
        select(Job.id).where(
            Job.status == JOB_RUNNING,
            or_(
                Job.lease_until < now,
                (Job.lease_until.is_(None)) & (Job.started_at < now - timedelta(seconds=lease_s)),
            ),
        )
    )
    return list(rows.all())


async def recover_expired_leases(session: AsyncSession, *, lease_s: float) -> list[JobView]:
    """Fail (credit refunded) every running job whose lease expired; never one with a live lease.

    A job whose worker died is not re-run here (it may be what killed the worker); it is marked
    retryable, so the person may run it again.
    """
    now = utcnow()
    recovered: list[JobView] = []
    for job_id in await expired_leases(session, now=now, lease_s=lease_s):
        view = await finish(
            session,
            job_id=job_id,
            status=JOB_FAILED,
            error=LEASE_LOST_MESSAGE,
            message="Failed",
            from_states=(JOB_RUNNING,),
            lease_expired_by=now,
            retryable=True,  # the worker went away (a crash, a restart), not the request
        )
        if view is not None:
            recovered.append(view)
    return recovered


def subscribe(key: str | int, callback: Callable[[JobView], Awaitable[None] | None]) -> Callable[[], None]:
    """Get every change of a job (key = job id) or of all of a user's jobs (key = user id)."""
    return job_events.subscribe(key, callback)


async def wait_for(job_id: str, *, user_id: int, timeout: float) -> JobView:  # noqa: ASYNC109 - returns the latest state at the deadline instead of raising
    """Wait until the job is final (or `timeout` seconds pass) and return its latest state."""
    return await job_events.wait_for(job_id, user_id=user_id, timeout=timeout)
