"""Operator job tasks behind `main.py admin jobs`: list, retry, cancel.

Retry submits a fresh job with the same user, input, tool and parameters (credit rules as for any
submit); the failed job stays as it was, for the record. Cancel goes through `jobs.cancel`: a
queued job ends at once, a running one is stopped by its worker (the row carries the flag).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from db.models import JOB_FINAL_STATES, Job, as_utc
from db.session import session_scope
from pixora_ui.services import jobs
from pixora_ui.services.job_views import JobNotFound, JobView


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    user_id: int
    tool: str
    provider: str
    status: str
    progress: float
    worker_id: str | None
    created_at: datetime
    error: str | None


async def list_jobs(*, status: str | None = None, limit: int = 50) -> list[JobRow]:
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(max(1, min(limit, 1000)))
    if status:
        query = query.where(Job.status == status)
    async with session_scope() as session:
        rows = (await session.scalars(query)).all()
    return [
        JobRow(
            id=job.id,
            user_id=job.user_id,
            tool=job.tool,
            provider=job.provider,
            status=job.status,
            progress=job.progress,
            worker_id=job.worker_id,
            created_at=as_utc(job.created_at),
            error=job.error,
        )
        for job in rows
    ]


async def _job(job_id: str) -> Job:
    async with session_scope() as session:
        job = await session.get(Job, job_id)
    if job is None:
        raise JobNotFound()
    return job


async def retry(job_id: str) -> JobView:
    """Submit the job again as a new job; only a failed or cancelled job can be retried."""
    job = await _job(job_id)
    if job.status not in JOB_FINAL_STATES or job.status == "succeeded":
        raise jobs.JobError(f"Job {job_id} is {job.status}: only a failed or cancelled job can be retried.")
    if job.input_asset_id is None:
        raise jobs.JobError(f"Job {job_id} has no input photo any more.")
    async with session_scope() as session:
        return await jobs.submit(
            session,
            user_id=job.user_id,
            asset_id=job.input_asset_id,
            tool=job.tool,
            params=dict(job.params or {}),
            provider=job.provider,
        )


async def cancel(job_id: str) -> JobView:
    job = await _job(job_id)
    async with session_scope() as session:
        return await jobs.cancel(session, user_id=job.user_id, job_id=job_id)
