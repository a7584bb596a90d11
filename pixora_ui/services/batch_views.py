"""What a page sees of a batch: `Quote`, `BatchItem` and `BatchView`, plain data (never ORM objects).

Built by services.batches from a batch row and its jobs; `BatchView.with_job` folds a job event
into a view without reading the database, so a panel can follow a batch from `batches.subscribe`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from db.models import CREDIT_KEPT, CREDIT_RESERVED, JOB_CANCELLED, JOB_FAILED, JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED
from pixora_ui.services.job_views import JobView


@dataclass(frozen=True, kw_only=True, slots=True)
class Quote:
    """What a batch will cost before it starts."""

    photos: int
    credits_needed: int  # AI edits the batch takes (0 for a free tool or an unlimited plan)
    credits_left: int | None  # None: unlimited plan
    unlimited: bool
    needs_verification: bool = False  # a Free account whose e-mail address is not confirmed yet
    charges: bool = True  # the tool is an AI edit (False: a free tool such as crop or rotate)

    @property
    def covered(self) -> bool:
        """True when every photo can run now."""
        return self.unlimited or self.credits_needed == 0 or (self.credits_left or 0) >= self.credits_needed

    @property
    def fits(self) -> int:
        """How many photos (the first ones) the credits left cover: the "run on the first N" choice."""
        if self.covered:
            return self.photos
        return max(0, min(self.photos, self.credits_left or 0))

    @property
    def message(self) -> str:
        """One sentence for the confirmation dialog."""
        if not self.charges:
            return f"{_photos(self.photos)}; no AI edits needed."
        if self.unlimited:
            return f"{_photos(self.photos)}; unlimited AI edits on your plan."
        if self.needs_verification:
            return "Confirm your e-mail address to get your free AI edits, then run the batch."
        left = self.credits_left or 0
        text = f"{_photos(self.photos)} will use {self.credits_needed} AI edits; you have {left} left."
        if self.covered:
            return text
        if self.fits:
            return f"{text} Run it on the first {self.fits}, or upgrade to Pro for unlimited edits."
        return f"{text} Upgrade to Pro for unlimited edits."


def _photos(count: int) -> str:
    return f"{count} photo{'s' if count != 1 else ''}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchItem:
    """One photo of a batch and its newest job (a retry replaces a failed job here)."""

    photo_id: str
    photo_name: str
    job: JobView
    attempts: int = 1  # jobs run for this photo in the batch

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def result_id(self) -> str | None:
        return self.job.result_asset_id


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchView:
    id: str
    user_id: int
    tool: str
    tool_label: str
    params: dict[str, Any]
    created_at: datetime
    cancelled_at: datetime | None
    items: tuple[BatchItem, ...]
    credits_charged: int  # AI edits taken and not given back, every attempt counted
    workers: int = 1  # jobs that run side by side on this server (for the ETA)

    # --- counts -------------------------------------------------------------------------------------

    def count(self, status: str) -> int:
        return sum(item.status == status for item in self.items)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def succeeded(self) -> int:
        return self.count(JOB_SUCCEEDED)

    @property
    def failed(self) -> int:
        return self.count(JOB_FAILED)

    @property
    def retryable(self) -> int:
        """Failed photos that running again can fix (a timeout, a busy service, a restart): what
        "Retry failed" runs. The others would fail the same way; their errors say why."""
        return sum(item.job.can_retry for item in self.items)

    @property
    def cancelled(self) -> int:
        return self.count(JOB_CANCELLED)

    @property
    def active(self) -> int:
        """Photos still queued or running."""
        return self.count(JOB_QUEUED) + self.count(JOB_RUNNING)

    @property
    def done(self) -> bool:
        return self.active == 0

    @property
    def status(self) -> str:
        """queued (nothing started yet), running, or finished (every photo succeeded, failed or was cancelled)."""
        if self.done:
            return "finished"
        return "queued" if self.count(JOB_QUEUED) == self.total else "running"

    @property
    def progress(self) -> float:
        """0..1 over the whole batch: a finished photo counts whole, a running one by its progress."""
        if not self.items:
            return 1.0
        return sum(1.0 if item.job.done else item.job.progress for item in self.items) / len(self.items)

    @property
    def eta_seconds(self) -> float | None:
        """One estimate for the rest of the batch; None when nothing is known yet, 0 when done."""
        if self.done:
            return 0.0
        pending = [item.job for item in self.items if not item.job.done]
        finished = [j for j in (item.job for item in self.items) if j.status == JOB_SUCCEEDED]
        observed = [(j.finished_at - j.started_at).total_seconds() for j in finished if j.started_at and j.finished_at]
        per_job = sum(observed) / len(observed) if observed else None
        remaining = 0.0
        for job in pending:
            if job.status == JOB_RUNNING and job.eta_seconds is not None:
                remaining += job.eta_seconds
            elif per_job is not None:
                remaining += per_job * (1.0 - job.progress)
            elif job.eta_seconds is not None:
                remaining += job.eta_seconds
            else:
                return None
        return round(remaining / max(1, min(self.workers, len(pending))), 1)

    # --- updates ------------------------------------------------------------------------------------

    def with_job(self, view: JobView) -> BatchView:
        """This batch with a job's newer state (a job event); unchanged when the job is not one of its
        newest jobs (an event of another batch, or of an attempt a retry has replaced)."""
        if view.batch_id != self.id:
            return self
        items = list(self.items)
        for index, item in enumerate(items):
            if item.job.id == view.id:
                items[index] = replace(item, job=view)
                break
            if item.photo_id == view.input_asset_id and _newer(view, item.job):
                items[index] = replace(item, job=view, attempts=item.attempts + 1)
                break
        else:
            return self
        charged = self.credits_charged
        before = next(i.job for i in self.items if i.photo_id == view.input_asset_id)
        if before.id == view.id:
            charged += _charged(view) - _charged(before)
        else:
            charged += _charged(view)
        return replace(self, items=tuple(items), credits_charged=charged)


def _charged(view: JobView) -> int:
    return 1 if view.credit_state in {CREDIT_RESERVED, CREDIT_KEPT} else 0


def _newer(candidate: JobView, current: JobView) -> bool:
    return (candidate.created_at, candidate.id) > (current.created_at, current.id)
