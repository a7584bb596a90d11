"""What a page sees of a job: `JobView`, plain data built from a job row (never an ORM object).

The studio's job panel shows it as it is, and also before a row exists: `JobView.pending` (the
request is on its way) and `JobView.refused` (it was turned down before a job was queued).

Shared by the job service (submit, cancel), the executor that runs jobs and the event module that
pushes changes to pages; it imports none of them. `to_wire`/`from_wire` carry a view between
processes (worker pipes, Redis pub/sub) as JSON-safe data.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    CREDIT_NONE,
    CREDIT_REFUNDED,
    JOB_FAILED,
    JOB_FINAL_STATES,
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    Asset,
    Job,
    as_utc,
)
from pixora_ui.engine.tools import catalog
from pixora_ui.engine.tools.registry import Tool, ToolRegistry
from pixora_ui.errors import NotFound, PixoraError

_DATETIME_FIELDS = ("created_at", "started_at", "finished_at")


class JobError(PixoraError):
    """Base of job errors; the message is safe to show."""


class JobNotFound(JobError, NotFound):
    def __init__(self) -> None:
        super().__init__("That job was not found.")


@dataclass(frozen=True, kw_only=True, slots=True)
class JobView:
    id: str
    user_id: int
    tool: str
    tool_label: str
    status: str  # queued | running | succeeded | failed | cancelled; "submitting" before a row exists
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
    note: str = ""  # what the page adds after success ("Added to your library as a new photo")
    batch_id: str | None = None  # the batch this job belongs to (services.batches), if any
    # On success: the new version's plain fields (`result_fields`), so a page adds it without a query.
    result: dict[str, Any] | None = None
    # A failure: True when the same request can work if run again (a timeout, a provider outage, a
    # worker that stopped), False when it would fail the same way (the photo or the settings); None
    # for any other state and for failures recorded before this was known.
    retryable: bool | None = None

    @classmethod
    def pending(cls, tool_label: str) -> JobView:
        """A request on its way, before the server has queued anything (immediate feedback on click)."""
        return cls._without_row(tool_label, "submitting", None)

    @classmethod
    def refused(cls, tool_label: str, error: str, *, retryable: bool = False) -> JobView:
        """A request turned down before any job was queued (not a photo, no provider, ...): the same
        request would be turned down again unless the caller knows otherwise."""
        return cls._without_row(tool_label, JOB_FAILED, error, retryable=retryable)

    @classmethod
    def _without_row(cls, tool_label: str, status: str, error: str | None, *, retryable: bool | None = None) -> JobView:
        return cls(
            id="",
            user_id=0,
            tool="",
            tool_label=tool_label,
            status=status,
            progress=0.0,
            message="",
            error=error,
            eta_seconds=None,
            queue_position=None,
            result_asset_id=None,
            input_asset_id=None,
            credit_state=CREDIT_NONE,
            provider="",
            created_at=datetime.now(UTC),
            retryable=retryable,
        )

    @property
    def done(self) -> bool:
        return self.status in JOB_FINAL_STATES

    @property
    def can_retry(self) -> bool:
        """A failure that running the same request again may fix ("Try again", a batch's retry).
        A failure recorded before this was known (None) keeps the old answer: yes."""
        return self.status == JOB_FAILED and self.retryable is not False

    @property
    def credit_refunded(self) -> bool:
        return self.credit_state == CREDIT_REFUNDED


def result_fields(asset: Any) -> dict[str, Any]:
    """What a page needs of a job's result (an `assets.AssetView` or an `Asset` row), JSON-safe for the bus."""
    root_id = asset.root_id or asset.id
    created = as_utc(asset.created_at)
    assert created is not None
    return {
        "id": asset.id,
        "root_id": root_id,
        "parent_id": None if root_id == asset.id else asset.parent_id,
        "name": asset.name,
        "tool": asset.tool,
        "created_at": created.isoformat(),
        "width": asset.width,
        "height": asset.height,
        "mime": asset.mime,
        "public": bool(asset.public),
    }


def registry() -> ToolRegistry:
    """The tool registry (looked up on each call so tests can swap `engine.tools.get_registry`)."""
    return catalog.get_registry()


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
        batch_id=job.batch_id,
        retryable=job.retryable if job.status == JOB_FAILED else None,
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
    view = to_view(job, queue_position=position, megapixels=await _input_megapixels(session, job.input_asset_id))
    if view.status == JOB_SUCCEEDED and job.result_asset_id:
        result = await session.get(Asset, job.result_asset_id)
        if result is not None:
            view = replace(view, result=result_fields(result))
    return view


def to_wire(view: JobView) -> dict[str, Any]:
    """The view as JSON-safe data (datetimes as ISO 8601 strings)."""
    out: dict[str, Any] = {}
    for item in fields(view):
        value = getattr(view, item.name)
        out[item.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def from_wire(data: dict[str, Any]) -> JobView:
    known = {item.name for item in fields(JobView)}
    values = {k: v for k, v in data.items() if k in known}
    for name in _DATETIME_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = datetime.fromisoformat(values[name])
    return JobView(**values)
