"""The studio's batch calls: plain data in and out, no session or ORM object for the page to hold.

Each function opens its own transaction (services.batches does the work) and raises only
`batches.BatchError` subclasses, whose messages are safe to show:

    CreditsShort   the credits left do not cover every photo: `exc.quote` has the numbers and `.fits`
                   for the "run on the first N, or upgrade" choice; nothing was queued or charged
    BatchNotFound  not this user's batch
    BatchError     anything else the user can fix (a photo deleted meanwhile, a parameter out of range)

A panel: `quote_batch` for the confirmation, `start_batch`, then `watch_batch` with
`view = view.with_job(job)` for each event; `thumbnail_url(item.result_id)` for result thumbnails,
`cancel_batch`, `quote_retry` + `retry_batch`, and `zip_url(view.id, fmt)` for the download button.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from db.session import session_scope
from pixora_ui.engine.tools.registry import ToolError
from pixora_ui.services import batch_zip, batches, jobs, media
from pixora_ui.services.assets import AssetError
from pixora_ui.services.batch_zip import ZipFormat
from pixora_ui.services.batches import BatchError, BatchView, Quote
from pixora_ui.services.job_views import JobView

THUMBNAIL_URL_TTL_S = 3600  # and bound to the owner's session, like the studio's canvas URLs


async def quote_batch(user_id: int, *, tool: str, params: dict[str, Any] | None, photos: int) -> Quote:
    try:
        async with session_scope() as session:
            return await batches.quote(session, user_id=user_id, tool=tool, params=params, photos=photos)
    except ToolError as exc:
        raise BatchError(str(exc)) from exc


async def start_batch(
    user_id: int,
    *,
    photo_ids: Sequence[str],
    tool: str,
    params: dict[str, Any] | None,
    limit_to: int | None = None,
    idempotency_key: str | None = None,
    provider: str | None = None,
) -> BatchView:
    """Queue the tool on every photo (or the first `limit_to`), all or nothing."""
    try:
        async with session_scope() as session:
            return await batches.submit(
                session,
                user_id=user_id,
                photo_ids=photo_ids,
                tool=tool,
                params=params,
                limit_to=limit_to,
                idempotency_key=idempotency_key,
                provider=provider,
            )
    except (ToolError, jobs.JobError, AssetError) as exc:  # ParamError and ToolUnavailable are ToolErrors
        raise BatchError(str(exc)) from exc


async def batch_of(user_id: int, batch_id: str) -> BatchView:
    async with session_scope() as session:
        return await batches.get_batch(session, user_id=user_id, batch_id=batch_id)


async def recent_batches(user_id: int, *, limit: int = 10) -> list[BatchView]:
    """The user's batches, newest first (a panel reopened after a reload)."""
    async with session_scope() as session:
        return await batches.list_batches(session, user_id=user_id, limit=limit)


async def cancel_batch(user_id: int, batch_id: str) -> BatchView:
    async with session_scope() as session:
        return await batches.cancel_all(session, user_id=user_id, batch_id=batch_id)


async def quote_retry(user_id: int, batch_id: str) -> Quote:
    async with session_scope() as session:
        return await batches.quote_retry(session, user_id=user_id, batch_id=batch_id)


async def retry_batch(user_id: int, batch_id: str) -> BatchView:
    """Run the failed photos again, all or nothing."""
    try:
        async with session_scope() as session:
            return await batches.retry_failed(session, user_id=user_id, batch_id=batch_id)
    except (ToolError, jobs.JobError, AssetError) as exc:
        raise BatchError(str(exc)) from exc


def watch_batch(
    user_id: int, batch_id: str, callback: Callable[[JobView], Awaitable[None] | None]
) -> Callable[[], None]:
    """callback(job) for every change of the batch's jobs; returns unsubscribe."""
    return batches.subscribe(user_id, batch_id, callback)


def thumbnail_url(asset_id: str) -> str:
    """A small WebP of a photo or result for the batch panel (for the signed-in owner only)."""
    return media.signed_url(asset_id, variant="preview", expires_in=THUMBNAIL_URL_TTL_S, bound=True)


def zip_url(batch_id: str, fmt: ZipFormat = "original") -> str:
    """The download button's link: the batch's results as one ZIP in `fmt`."""
    return batch_zip.download_url(batch_id, fmt)
