"""Batches: one tool, with one set of parameters, over many photos; one job per photo.

Every job goes through `services.jobs.submit` (parameters checked, credit reserved atomically,
queued after the commit, run and leased by the workers like any edit); a batch only groups them
(`jobs.batch_id`) and keeps the photos' order. Nothing here reads an image: submitting 50 photos
of 12 MP costs a few statements per photo. `main.py edit` (pixora_ui.batch) is the command line's
batch over files and needs no database; this is the studio's and the API's.

API (the functions taking a session do not commit: use `async with session_scope() as session`;
an error raised inside that block rolls everything back, which is what makes a refusal atomic):

    quote(session, *, user_id, tool, params=None, photos) -> Quote
        Before a batch starts: photos, credits_needed, credits_left (None: unlimited), unlimited,
        needs_verification; `.covered`, `.fits` (the first N the credits cover) and `.message`.
    submit(session, *, user_id, photo_ids, tool, params=None, limit_to=None, idempotency_key=None,
           provider=None) -> BatchView
        One job per photo (duplicates dropped, order kept, at most MAX_PHOTOS). `limit_to=N` runs the
        first N only (the "run on the first N" choice). When the credits left cannot cover every
        photo it raises CreditsShort (with the quote) and nothing is queued or charged: never a
        partial surprise. A bad photo id or parameter refuses the whole batch the same way
        (AssetNotFound, ParamError, ToolError, ToolUnavailable). The same idempotency key returns
        the same batch and charges once.
    get_batch(session, *, user_id, batch_id) -> BatchView            (BatchNotFound for another user's)
    list_batches(session, *, user_id, limit=20) -> list[BatchView]   newest first
    cancel_all(session, *, user_id, batch_id) -> BatchView
        Every queued job is cancelled at once and every running one asked to stop; each gives its
        credit back.
    quote_retry(session, *, user_id, batch_id) -> Quote              what retry_failed would take
    retry_failed(session, *, user_id, batch_id) -> BatchView
        A new job for each photo whose newest job failed in a way running again can fix
        (`JobView.can_retry`: a timeout, a provider outage, a worker that stopped), same tool and
        parameters; a photo that would fail the same way is left as it is. CreditsShort as in
        submit. The failed jobs stay in the history with their reason (and their refund).
    subscribe(user_id, batch_id, callback) -> unsubscribe
        callback(JobView) for every change of one of the batch's jobs; fold it into the panel's view
        with `BatchView.with_job(view)`.

The download (the results as one streamed ZIP, their file names, the studio's link) is in
services.batch_zip; the studio's calls without sessions are in services.batch_studio.

One module on purpose: quote, submit, cancel and retry share the credit check and the per-photo
job keys; the views, the ZIP and the studio's use live in `batch_views`, `batch_zip`, `batch_studio`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    CREDIT_KEPT,
    CREDIT_RESERVED,
    JOB_QUEUED,
    JOB_RUNNING,
    Asset,
    Batch,
    Job,
    User,
    as_utc,
    new_id,
    utcnow,
)
from pixora_ui.errors import NotFound, PixoraError
from pixora_ui.services import job_events, jobs, usage
from pixora_ui.services.batch_views import BatchItem, BatchView, Quote
from pixora_ui.services.job_views import JobView, registry, to_view
from pixora_ui.settings import get_settings

__all__ = [
    "MAX_PHOTOS",
    "BatchError",
    "BatchItem",
    "BatchNotFound",
    "BatchView",
    "CreditsShort",
    "NothingToDownload",
    "Quote",
    "cancel_all",
    "get_batch",
    "list_batches",
    "quote",
    "quote_retry",
    "retry_failed",
    "submit",
    "subscribe",
]

MAX_PHOTOS = 200
_KEY_MAX = 100


class BatchError(PixoraError):
    """Base of batch errors; the message is safe to show."""


class BatchNotFound(BatchError, NotFound):
    def __init__(self) -> None:
        super().__init__("That batch was not found.")


class CreditsShort(BatchError, usage.LimitReached):
    """The credits left do not cover every photo: nothing was queued or charged."""

    def __init__(self, quote: Quote) -> None:
        BatchError.__init__(self, quote.message)
        self.quote = quote


class NothingToDownload(BatchError):
    status = 409
    code = "nothing_to_download"

    def __init__(self) -> None:
        super().__init__("No photo of this batch has a result yet.")


# --- quotes -------------------------------------------------------------------------------------------


async def quote(
    session: AsyncSession, *, user_id: int, tool: str, params: dict[str, Any] | None = None, photos: int
) -> Quote:
    """What running `tool` on `photos` photos costs the user now (ToolError, ParamError for a bad request)."""
    spec = registry().get(tool)
    clean = spec.validate(dict(params or {}))
    charges = spec.charges(clean)
    return await _quote(session, user_id=user_id, photos=photos, charges=charges)


async def _quote(session: AsyncSession, *, user_id: int, photos: int, charges: bool) -> Quote:
    current = await usage.get_usage(session, user_id=user_id)
    verified = await session.scalar(select(User.email_verified).where(User.id == user_id))
    needs_verification = not current.unlimited and not verified
    left = None if current.unlimited else (0 if needs_verification else current.remaining)
    return Quote(
        photos=photos,
        credits_needed=photos if charges and not current.unlimited else 0,
        credits_left=left,
        unlimited=current.unlimited,
        needs_verification=needs_verification and charges,
        charges=charges,
    )


# --- submit -------------------------------------------------------------------------------------------


def _photo_list(photo_ids: Sequence[str], limit_to: int | None) -> list[str]:
    if isinstance(photo_ids, str) or not all(isinstance(p, str) and p for p in photo_ids):
        raise BatchError("Choose the photos by their ids.")
    unique = list(dict.fromkeys(photo_ids))
    if not unique:
        raise BatchError("Choose at least one photo.")
    if len(unique) > MAX_PHOTOS:
        raise BatchError(f"A batch takes at most {MAX_PHOTOS} photos.")
    if limit_to is not None:
        if not 1 <= limit_to <= len(unique):
            raise BatchError(f"Run the batch on 1 to {len(unique)} photos.")
        unique = unique[:limit_to]
    return unique


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert(Batch) if dialect == "postgresql" else sqlite_insert(Batch)


async def _by_key(session: AsyncSession, *, user_id: int, key: str) -> Batch | None:
    return (
        await session.scalars(
            select(Batch)
            .where(Batch.user_id == user_id, Batch.idempotency_key == key)
            .execution_options(populate_existing=True)
        )
    ).first()


def _job_key(batch_id: str, index: int, attempt: int) -> str:
    # Unique per user like every job key: a retry of the same request finds the same jobs.
    return f"batch:{batch_id}:{index}:{attempt}"


async def submit(
    session: AsyncSession,
    *,
    user_id: int,
    photo_ids: Sequence[str],
    tool: str,
    params: dict[str, Any] | None = None,
    limit_to: int | None = None,
    idempotency_key: str | None = None,
    provider: str | None = None,
) -> BatchView:
    """Queue `tool` on each photo, all or nothing; see the module docstring for the rules."""
    key = (idempotency_key or "").strip()[:_KEY_MAX] or None
    if key is not None:
        existing = await _by_key(session, user_id=user_id, key=key)
        if existing is not None:
            return await _view(session, existing)
    photos = _photo_list(photo_ids, limit_to)
    spec = registry().get(tool)
    if not isinstance(params, dict | None):
        raise jobs.ParamError("Parameters must be an object")
    clean = spec.validate(dict(params or {}))
    # Checked first so the usual refusal costs no statement per photo; the reservations below are
    # what make it exact when another request spends credits meanwhile.
    price = await _quote(session, user_id=user_id, photos=len(photos), charges=spec.charges(clean))
    if not price.covered:
        raise CreditsShort(price)

    batch_id = new_id()
    inserted = (
        await session.execute(
            _insert(session)
            .values(
                id=batch_id,
                user_id=user_id,
                tool=tool,
                params=clean,
                provider=provider,
                asset_ids=photos,
                idempotency_key=key,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["user_id", "idempotency_key"])
            .returning(Batch.id)
        )
    ).scalar_one_or_none()
    if inserted is None:  # a concurrent request with the same key won: its batch is this one
        assert key is not None
        winner = await _by_key(session, user_id=user_id, key=key)
        if winner is None:
            raise BatchError("Please try again.")
        return await _view(session, winner)
    work = [(index, photo_id, 0) for index, photo_id in enumerate(photos)]
    await _submit_jobs(
        session, user_id=user_id, batch_id=batch_id, tool=tool, params=clean, provider=provider, work=work, price=price
    )
    batch = await session.get(Batch, batch_id)
    assert batch is not None
    return await _view(session, batch)


async def _submit_jobs(
    session: AsyncSession,
    *,
    user_id: int,
    batch_id: str,
    tool: str,
    params: dict[str, Any],
    provider: str | None,
    work: list[tuple[int, str, int]],
    price: Quote,
) -> None:
    """One job per (photo index, photo id, attempt) through jobs.submit; CreditsShort when a reservation
    fails (the caller's transaction then rolls back every job and credit of this call)."""
    reserved = 0
    for index, photo_id, attempt in work:
        try:
            view = await jobs.submit(
                session,
                user_id=user_id,
                asset_id=photo_id,
                tool=tool,
                params=params,
                idempotency_key=_job_key(batch_id, index, attempt),
                provider=provider,
                batch_id=batch_id,
            )
        except usage.LimitReached:
            # Another request spent credits since the quote: refuse it all with the numbers as they
            # will be once this transaction's own reservations are rolled back.
            now = await _quote(session, user_id=user_id, photos=price.photos, charges=True)
            left = None if now.credits_left is None else now.credits_left + reserved
            raise CreditsShort(replace(now, credits_left=left)) from None
        reserved += view.credit_state == CREDIT_RESERVED


# --- reading ------------------------------------------------------------------------------------------


async def _owned(session: AsyncSession, *, user_id: int, batch_id: str) -> Batch:
    if not isinstance(batch_id, str) or not batch_id or len(batch_id) > 32:
        raise BatchNotFound()
    batch = await session.get(Batch, batch_id, populate_existing=True)
    if batch is None or batch.user_id != user_id:
        raise BatchNotFound()
    return batch


def _workers() -> int:
    settings = get_settings()
    return max(1, settings.engine_workers or settings.local_job_concurrency)


async def _view(session: AsyncSession, batch: Batch) -> BatchView:
    rows = (
        await session.scalars(
            select(Job)
            .where(Job.batch_id == batch.id)
            .order_by(Job.created_at, Job.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    photos = {
        row.id: row
        for row in (
            await session.execute(
                select(Asset.id, Asset.name, Asset.width, Asset.height).where(Asset.id.in_(batch.asset_ids))
            )
        ).all()
    }
    newest: dict[str, Job] = {}
    attempts: dict[str, int] = {}
    charged = 0
    for row in rows:
        photo_id = row.input_asset_id or ""
        newest[photo_id] = row  # rows come oldest first: the last one wins
        attempts[photo_id] = attempts.get(photo_id, 0) + 1
        charged += row.credit_state in {CREDIT_RESERVED, CREDIT_KEPT}
    items: list[BatchItem] = []
    for photo_id in batch.asset_ids:
        job = newest.get(photo_id)
        if job is None:  # the photo was deleted for good (its jobs lost their input): nothing to show
            continue
        photo = photos.get(photo_id)
        megapixels = photo.width * photo.height / 1_000_000 if photo is not None else None
        items.append(
            BatchItem(
                photo_id=photo_id,
                photo_name=photo.name if photo is not None else "",
                job=to_view(job, megapixels=megapixels),
                attempts=attempts[photo_id],
            )
        )
    spec = registry()
    created = as_utc(batch.created_at)
    assert created is not None
    return BatchView(
        id=batch.id,
        user_id=batch.user_id,
        tool=batch.tool,
        tool_label=spec.get(batch.tool).label if batch.tool in spec else batch.tool,
        params=dict(batch.params or {}),
        created_at=created,
        cancelled_at=as_utc(batch.cancelled_at),
        items=tuple(items),
        credits_charged=charged,
        workers=_workers(),
    )


async def get_batch(session: AsyncSession, *, user_id: int, batch_id: str) -> BatchView:
    return await _view(session, await _owned(session, user_id=user_id, batch_id=batch_id))


async def list_batches(session: AsyncSession, *, user_id: int, limit: int = 20) -> list[BatchView]:
    rows = (
        await session.scalars(
            select(Batch)
            .where(Batch.user_id == user_id)
            .order_by(Batch.created_at.desc(), Batch.id.desc())
            .limit(max(1, min(limit, 100)))
        )
    ).all()
    return [await _view(session, batch) for batch in rows]


# --- cancel and retry ---------------------------------------------------------------------------------


async def cancel_all(session: AsyncSession, *, user_id: int, batch_id: str) -> BatchView:
    """Cancel every photo still queued or running (each credit comes back)."""
    batch = await _owned(session, user_id=user_id, batch_id=batch_id)
    active = (
        await session.scalars(select(Job.id).where(Job.batch_id == batch.id, Job.status.in_((JOB_QUEUED, JOB_RUNNING))))
    ).all()
    for job_id in active:
        await jobs.cancel(session, user_id=user_id, job_id=job_id)
    if batch.cancelled_at is None:
        batch.cancelled_at = utcnow()
        await session.flush()
    return await _view(session, batch)


def _failed(view: BatchView) -> list[BatchItem]:
    """The photos whose newest job failed in a way that running it again can fix."""
    return [item for item in view.items if item.job.can_retry]


async def quote_retry(session: AsyncSession, *, user_id: int, batch_id: str) -> Quote:
    """What retrying the batch's retryable failed photos would take."""
    view = await get_batch(session, user_id=user_id, batch_id=batch_id)
    spec = registry().get(view.tool)
    return await _quote(session, user_id=user_id, photos=len(_failed(view)), charges=spec.charges(view.params))


async def retry_failed(session: AsyncSession, *, user_id: int, batch_id: str) -> BatchView:
    """Run again each photo whose newest job failed retryably, all or nothing (CreditsShort)."""
    batch = await _owned(session, user_id=user_id, batch_id=batch_id)
    view = await _view(session, batch)
    failed = _failed(view)
    if not failed:
        return view
    spec = registry().get(batch.tool)
    price = await _quote(session, user_id=user_id, photos=len(failed), charges=spec.charges(view.params))
    if not price.covered:
        raise CreditsShort(price)
    positions = {photo_id: index for index, photo_id in enumerate(batch.asset_ids)}
    work = [(positions[item.photo_id], item.photo_id, item.attempts) for item in failed]
    await _submit_jobs(
        session,
        user_id=user_id,
        batch_id=batch.id,
        tool=batch.tool,
        params=dict(batch.params or {}),
        provider=batch.provider,
        work=work,
        price=price,
    )
    return await _view(session, batch)


# --- events -------------------------------------------------------------------------------------------


def subscribe(user_id: int, batch_id: str, callback: Callable[[JobView], Awaitable[None] | None]) -> Callable[[], None]:
    """Every change of the batch's jobs (retries included) as a JobView; returns unsubscribe."""

    def on_change(view: JobView) -> Awaitable[None] | None:
        return callback(view) if view.batch_id == batch_id else None

    return job_events.subscribe(user_id, on_change)
