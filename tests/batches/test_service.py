"""Batches on SQLite and PostgreSQL: quotes, all-or-nothing credits, cancel-all refunds, retries."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from skimage import data as skdata
from sqlalchemy import func, select

from db.models import CREDIT_REFUNDED, Batch, Job, User
from db.session import session_scope
from pixora_ui.services import batches, jobs
from pixora_ui.services.batches import CreditsShort
from tests.batches.conftest import Flaky, finished, get, submit
from tests.services.conftest import jpeg_bytes, make_pro, make_user, upload_photo, usage_count

pytestmark = pytest.mark.usefixtures("batch_registry")


async def _photos(user_id: int, count: int) -> list[str]:
    return [await upload_photo(user_id, name=f"photo{i}.jpg") for i in range(count)]


async def _rows(user_id: int) -> tuple[int, int]:
    async with session_scope() as session:
        job_count = await session.scalar(select(func.count()).select_from(Job).where(Job.user_id == user_id))
        batch_count = await session.scalar(select(func.count()).select_from(Batch).where(Batch.user_id == user_id))
    return int(job_count or 0), int(batch_count or 0)


async def test_free_user_with_two_credits_batching_three_photos(any_db: str) -> None:
    user_id = await make_user(limit=2)
    photos = await _photos(user_id, 3)
    async with session_scope() as session:
        price = await batches.quote(session, user_id=user_id, tool="t-invert", photos=3)
    assert (price.photos, price.credits_needed, price.credits_left, price.unlimited) == (3, 3, 2, False)
    assert not price.covered and price.fits == 2
    assert "first 2" in price.message and "upgrade" in price.message.lower()

    with pytest.raises(CreditsShort) as refused:
        await submit(user_id, photos)
    assert refused.value.quote.fits == 2
    assert await usage_count(user_id) == 0  # refused as a whole: nothing charged, nothing queued
    assert await _rows(user_id) == (0, 0)

    batch = await submit(user_id, photos, limit_to=2)
    assert [item.photo_id for item in batch.items] == photos[:2]
    assert batch.total == 2 and batch.credits_charged == 2 and batch.status == "queued"
    assert all(item.job.batch_id == batch.id for item in batch.items)
    assert await usage_count(user_id) == 2
    with pytest.raises(CreditsShort):
        await submit(user_id, photos[2:])


async def test_credits_spent_meanwhile_refuse_the_whole_batch(any_db: str) -> None:
    user_id = await make_user(limit=3)
    photos = await _photos(user_id, 3)

    async def attempt(photo_ids: list[str]) -> str:
        try:
            await submit(user_id, photo_ids)
            return "accepted"
        except CreditsShort:
            return "refused"

    # Two batches of 2 and 3 photos race for 3 credits: exactly one wins, and wholly.
    outcomes = await asyncio.gather(attempt(photos[:2]), attempt(photos))
    assert sorted(outcomes) == ["accepted", "refused"]
    jobs_made, _ = await _rows(user_id)
    assert await usage_count(user_id) == jobs_made in {2, 3}


async def test_unlimited_plans_and_free_tools_need_no_credits(any_db: str) -> None:
    pro = await make_pro()
    async with session_scope() as session:
        price = await batches.quote(session, user_id=pro, tool="t-invert", photos=50)
    assert price.unlimited and price.credits_left is None and price.credits_needed == 0 and price.covered
    free = await make_user(limit=0)
    photo = await upload_photo(free)
    async with session_scope() as session:
        price = await batches.quote(session, user_id=free, tool="t-free", photos=4)
    assert price.covered and price.credits_needed == 0
    assert (await submit(free, [photo], tool="t-free")).credits_charged == 0


async def test_a_bad_photo_or_parameter_refuses_everything(any_db: str) -> None:
    owner = await make_user()
    stranger = await make_user("other@example.com")
    mine = await _photos(owner, 2)
    theirs = await upload_photo(stranger)
    with pytest.raises(jobs.AssetNotFound):
        await submit(owner, [*mine, theirs])
    with pytest.raises(jobs.ParamError):
        await submit(owner, mine, tool="t-slow", params={"seconds": 999})
    with pytest.raises(batches.BatchError):
        await submit(owner, [])
    with pytest.raises(batches.BatchError):
        await submit(owner, mine, limit_to=3)
    assert await usage_count(owner) == 0 and await _rows(owner) == (0, 0)


async def test_same_key_is_one_batch_and_duplicates_are_dropped(any_db: str) -> None:
    user_id = await make_user()
    photos = await _photos(user_id, 2)
    first, second = await asyncio.gather(
        submit(user_id, [*photos, photos[0]], idempotency_key="dialog-1"),
        submit(user_id, [*photos, photos[0]], idempotency_key="dialog-1"),
    )
    assert first.id == second.id and first.total == 2
    assert await usage_count(user_id) == 2


async def test_cancel_all_refunds_every_credit(any_db: str) -> None:
    user_id = await make_user(limit=3)
    photos = await _photos(user_id, 3)
    batch = await submit(user_id, photos, tool="t-slow", params={"seconds": 30})
    assert await usage_count(user_id) == 3
    async with session_scope() as session:
        cancelled = await batches.cancel_all(session, user_id=user_id, batch_id=batch.id)
    assert cancelled.done and cancelled.cancelled == 3 and cancelled.cancelled_at is not None
    assert all(item.job.credit_state == CREDIT_REFUNDED for item in cancelled.items)
    assert cancelled.credits_charged == 0 and cancelled.progress == 1.0
    assert await usage_count(user_id) == 0
    stranger = await make_user("other@example.com")
    with pytest.raises(batches.BatchNotFound):
        async with session_scope() as session:
            await batches.cancel_all(session, user_id=stranger, batch_id=batch.id)


@pytest.mark.usefixtures("batch_runner")
async def test_retry_failed_runs_only_the_retryable_failures_again(any_db: str, flaky: Flaky) -> None:
    user_id = await make_user(limit=4)
    big = await upload_photo(user_id, name="big.jpg")
    small_pixels = np.ascontiguousarray(skdata.astronaut()[:200, :200])
    small = await upload_photo(user_id, jpeg_bytes(small_pixels), name="small.jpg")
    tiny_pixels = np.ascontiguousarray(skdata.astronaut()[:64, :64])
    tiny = await upload_photo(user_id, jpeg_bytes(tiny_pixels), name="tiny.jpg")
    batch = await finished(user_id, await submit(user_id, [big, small, tiny], tool="t-flaky"))
    assert (batch.succeeded, batch.failed, batch.retryable, batch.status) == (1, 2, 1, "finished")
    passing, lasting = batch.items[1].job, batch.items[2].job
    assert passing.error is not None and "busy" in passing.error and "refunded" in passing.error
    assert passing.retryable is True and lasting.retryable is False
    assert lasting.error is not None and "too small" in lasting.error and "refunded" in lasting.error
    assert await usage_count(user_id) == 1

    async with session_scope() as session:
        price = await batches.quote_retry(session, user_id=user_id, batch_id=batch.id)
    assert (price.photos, price.credits_needed, price.credits_left) == (1, 1, 3)  # the tiny photo is not counted
    flaky.strict.clear()
    async with session_scope() as session:
        retried = await batches.retry_failed(session, user_id=user_id, batch_id=batch.id)
    assert retried.items[0].job.id == batch.items[0].job.id  # the success is not run again
    assert retried.items[1].attempts == 2 and retried.items[1].job.id != passing.id
    assert retried.items[2].attempts == 1 and retried.items[2].job.id == lasting.id  # it would fail the same way
    done = await finished(user_id, retried)
    assert (done.succeeded, done.failed, done.retryable, done.total) == (2, 1, 0, 3)
    assert await usage_count(user_id) == 2 and done.credits_charged == 2
    async with session_scope() as session:
        again = await batches.retry_failed(session, user_id=user_id, batch_id=batch.id)
        nothing = await batches.quote_retry(session, user_id=user_id, batch_id=batch.id)
    assert [i.job.id for i in again.items] == [i.job.id for i in done.items]  # nothing left to retry
    assert nothing.photos == 0


@pytest.mark.usefixtures("batch_runner")
async def test_a_panel_follows_the_batch_from_job_events(flaky: Flaky) -> None:
    user_id = await make_user()
    photos = await _photos(user_id, 2)
    seen: list[jobs.JobView] = []
    batch = await submit(user_id, photos)
    unsubscribe = batches.subscribe(user_id, batch.id, seen.append)
    try:
        final = await finished(user_id, batch)
    finally:
        unsubscribe()
    followed = batch
    for view in seen:
        followed = followed.with_job(view)
    assert followed.done and followed.succeeded == 2 == final.succeeded
    assert followed.credits_charged == final.credits_charged == 2
    assert [i.result_id for i in followed.items] == [i.result_id for i in final.items]
    assert await get(user_id, batch.id) == final


async def test_unverified_free_account_is_asked_to_confirm_its_address(any_db: str) -> None:
    user_id = await make_user()
    async with session_scope() as session:
        row = await session.get(User, user_id)
        assert row is not None
        row.email_verified = False
    photo = await upload_photo(user_id)
    with pytest.raises(CreditsShort) as refused:
        await submit(user_id, [photo])
    assert refused.value.quote.needs_verification and "Confirm your e-mail" in str(refused.value)
    assert (await submit(user_id, [photo], tool="t-free")).total == 1  # a free tool still runs


async def test_list_batches_newest_first_for_their_owner_only(any_db: str) -> None:
    user_id = await make_pro()
    photos = await _photos(user_id, 2)
    older = await submit(user_id, photos[:1])
    newer = await submit(user_id, photos)
    async with session_scope() as session:
        listed = await batches.list_batches(session, user_id=user_id)
        theirs = await batches.list_batches(session, user_id=await make_user("other@example.com"))
    assert [b.id for b in listed] == [newer.id, older.id] and [b.total for b in listed] == [2, 1]
    assert theirs == []
