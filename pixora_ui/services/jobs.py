"""Jobs: every AI or basic edit is a job, submitted here and run by `services.runner`.

API (all take the caller's AsyncSession first; none commits - use `async with session_scope()`):

    submit(session, *, user_id, asset_id, tool, params=None, idempotency_key=None, provider=None) -> JobView
        Validates `params` against the tool registry (unknown names, types, ranges -> ParamError),
        resolves kind-"image" parameters to the user's own assets (AssetNotFound otherwise), picks
        the provider (providers.router.choose; ToolUnavailable when none can run it), reserves one
        credit for tools that cost one and users with a limit (LimitReached at the limit), stores a
        `queued` job and returns at once. The runner starts it after the caller commits.
        The same idempotency key twice (double click, retry) returns the same job and charges once,
        even when both requests race: the key is unique per user in the database.
    cancel(session, *, user_id, job_id) -> JobView
        A queued job is cancelled at once (credit refunded); a running one is asked to stop and
        ends `cancelled` (credit refunded) as soon as the tool notices.
    get_job(session, *, user_id, job_id) -> JobView          (JobNotFound for another user's job)
    list_recent(session, *, user_id, limit=20) -> list[JobView]   newest first
    queue_position(session, *, job_id) -> int | None          1 = next to run; None when not queued
    subscribe(key, callback) -> unsubscribe                   key: a job id (str) or a user id (int);
        callback(JobView) is called on the event loop for every change (may be async). Re-exported
        from services.runner.
    wait_for(job_id, *, user_id, timeout) -> JobView          until the job is final or the timeout

JobView is plain data (never an ORM object): safe to keep in a page and to push to it.
Errors carry messages that are safe to show to users.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    CREDIT_NONE,
    CREDIT_REFUNDED,
    CREDIT_RESERVED,
    JOB_CANCELLED,
    JOB_FINAL_STATES,
    JOB_QUEUED,
    JOB_RUNNING,
    Asset,
    Job,
    as_utc,
    new_id,
    utcnow,
)
from pixora_ui.engine.registry import ParamError, Tool, ToolError, ToolRegistry
from pixora_ui.services import usage
from pixora_ui.services.assets import AssetNotFound
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
    "find_by_key",
    "get_job",
    "list_recent",
    "queue_position",
    "registry",
    "submit",
    "subscribe",
    "wait_for",
]

REFUND_NOTE = "Your credit was refunded."
_IDEMPOTENCY_MAX = 100


class JobError(Exception):
    """Base of job errors; the message is safe to show."""


class JobNotFound(JobError):
    def __init__(self) -> None:
        super().__init__("That job was not found.")


@dataclass(frozen=True, kw_only=True, slots=True)
class JobView:
    id: str
    user_id: int
    tool: str
    tool_label: str
    status: str  # queued | running | succeeded | failed | cancelled
    progress: float  # 0..1
    message: str  # short progress text ("Removing background…")
    error: str | None  # safe to show; says when the credit was refunded
    eta_seconds: float | None
    queue_position: int | None  # 1 = next to run; None unless queued
    result_asset_id: str | None
    input_asset_id: str | None
    credit_state: str  # none | reserved | kept | refunded
    provider: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    params: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.status in JOB_FINAL_STATES

    @property
    def credit_refunded(self) -> bool:
        return self.credit_state == CREDIT_REFUNDED


def registry() -> ToolRegistry:
    """The tool registry (looked up on each call so tests can swap `engine.tools.get_registry`)."""
    from pixora_ui.engine import tools

    return tools.get_registry()


def _tool_or_none(name: str) -> Tool | None:
    reg = registry()
    return reg.get(name) if name in reg else None


def estimate_seconds(tool_name: str, megapixels: float | None) -> float | None:
    tool = _tool_or_none(tool_name)
    if tool is None or megapixels is None:
        return None
    return max(1.0, tool.seconds_per_mp * megapixels)


def to_view(
    job: Job,
    *,
    queue_position: int | None = None,
    megapixels: float | None = None,
    progress: float | None = None,
    message: str | None = None,
) -> JobView:
    tool = _tool_or_none(job.tool)
    current = job.progress if progress is None else progress
    eta: float | None = None
    started = as_utc(job.started_at)
    if job.status == JOB_RUNNING and started is not None:
        elapsed = (datetime.now(UTC) - started).total_seconds()
        if current >= 0.05:
            eta = max(0.0, elapsed * (1.0 - current) / current)
        else:
            estimate = estimate_seconds(job.tool, megapixels)
            eta = None if estimate is None else max(0.0, estimate - elapsed)
    elif job.status == JOB_QUEUED:
        eta = estimate_seconds(job.tool, megapixels)
    created = as_utc(job.created_at)
    assert created is not None
    return JobView(
        id=job.id,
        user_id=job.user_id,
        tool=job.tool,
        tool_label=tool.label if tool else job.tool,
        status=job.status,
        progress=float(current),
        message=job.message if message is None else message,
        error=job.error,
        eta_seconds=None if eta is None else round(eta, 1),
        queue_position=queue_position if job.status == JOB_QUEUED else None,
        result_asset_id=job.result_asset_id,
        input_asset_id=job.input_asset_id,
        credit_state=job.credit_state,
        provider=job.provider,
        created_at=created,
        started_at=started,
        finished_at=as_utc(job.finished_at),
        params=dict(job.params or {}),
    )


async def queue_position(session: AsyncSession, *, job_id: str) -> int | None:
    """1-based place in the queue among queued jobs (all users), or None when not queued."""
    row = (await session.execute(select(Job.status, Job.created_at).where(Job.id == job_id))).one_or_none()
    if row is None or row.status != JOB_QUEUED:
        return None
    ahead = await session.scalar(
        select(func.count()).select_from(Job).where(Job.status == JOB_QUEUED, Job.created_at < row.created_at)
    )
    return int(ahead or 0) + 1


async def _input_megapixels(session: AsyncSession, asset_id: str | None) -> float | None:
    if not asset_id:
        return None
    row = (await session.execute(select(Asset.width, Asset.height).where(Asset.id == asset_id))).one_or_none()
    return None if row is None else row.width * row.height / 1_000_000


async def view_of(session: AsyncSession, job: Job) -> JobView:
    position = await queue_position(session, job_id=job.id) if job.status == JOB_QUEUED else None
    return to_view(job, queue_position=position, megapixels=await _input_megapixels(session, job.input_asset_id))


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
) -> JobView:
    """Queue `tool` on the user's asset; see the module docstring for the rules."""
    from pixora_ui.providers import router

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
    def hook(_session: Any) -> None:
        callback()

    sa_event.listen(session.sync_session, "after_commit", hook, once=True)


def _announce(view: JobView) -> None:
    from pixora_ui.services import runner

    runner.publish(view)
    runner.wake()


async def cancel(session: AsyncSession, *, user_id: int, job_id: str) -> JobView:
    """Cancel a job: at once when queued (credit refunded), or ask the running tool to stop."""
    from pixora_ui.services import runner

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
            _after_commit(session, lambda: runner.publish(finished))
            return finished
        job = await _owned_job(session, user_id=user_id, job_id=job_id)
    if job.status == JOB_RUNNING and not job.cancel_requested:
        job.cancel_requested = True
        job.message = "Cancelling…"
        await session.flush()
        view = await view_of(session, job)
        _after_commit(session, lambda: runner.request_cancel(job_id))
        return view
    return await view_of(session, job)


async def finish(
    session: AsyncSession,
    *,
    job_id: str,
    status: str,
    error: str | None,
    message: str,
    result_asset_id: str | None = None,
    from_states: tuple[str, ...] = (JOB_QUEUED, JOB_RUNNING),
) -> JobView | None:
    """Move a job to a final state exactly once, and settle its credit: kept on success, refunded
    otherwise. Returns None when the job was already final (someone else finished it)."""
    from sqlalchemy import CursorResult, update

    from db.models import CREDIT_KEPT, JOB_SUCCEEDED

    succeeded = status == JOB_SUCCEEDED
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(from_states))
        .values(
            status=status,
            error=error,
            message=message,
            result_asset_id=result_asset_id,
            finished_at=utcnow(),
            progress=1.0 if succeeded else Job.progress,
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


def subscribe(key: str | int, callback: Callable[[JobView], Awaitable[None] | None]) -> Callable[[], None]:
    """Get every change of a job (key = job id) or of all of a user's jobs (key = user id)."""
    from pixora_ui.services import runner

    return runner.subscribe(key, callback)


async def wait_for(job_id: str, *, user_id: int, timeout: float) -> JobView:  # noqa: ASYNC109 - returns the latest state at the deadline instead of raising
    """Wait until the job is final (or `timeout` seconds pass) and return its latest state."""
    from pixora_ui.services import runner

    return await runner.wait_for(job_id, user_id=user_id, timeout=timeout)
