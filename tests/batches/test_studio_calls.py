"""The studio's batch calls: one error type for the page, a panel followed from events, thumbnails."""

from __future__ import annotations

import numpy as np
import pytest
from nicegui.testing import User
from skimage import data as skdata

from pixora_ui.services import batch_studio
from pixora_ui.services.batches import BatchError, BatchNotFound, CreditsShort
from pixora_ui.services.job_views import JobView
from tests.batches.conftest import Flaky, finished
from tests.services.conftest import jpeg_bytes, make_user, upload_photo, usage_count
from tests.services.test_api import sign_in

pytestmark = pytest.mark.usefixtures("batch_registry")


async def test_the_page_gets_one_error_type_with_safe_messages() -> None:
    owner = await make_user(limit=1)
    stranger = await make_user("other@example.com")
    mine = [await upload_photo(owner), await upload_photo(owner)]
    theirs = await upload_photo(stranger)
    with pytest.raises(CreditsShort) as short:
        await batch_studio.start_batch(owner, photo_ids=mine, tool="t-invert", params={})
    assert short.value.quote.fits == 1
    for photo_ids, tool, params in (
        ([mine[0], theirs], "t-invert", {}),
        (mine[:1], "t-slow", {"seconds": 999}),
        (mine[:1], "no-such-tool", {}),
    ):
        with pytest.raises(BatchError) as refused:
            await batch_studio.start_batch(owner, photo_ids=photo_ids, tool=tool, params=params)
        assert str(refused.value)
    with pytest.raises(BatchError):
        await batch_studio.quote_batch(owner, tool="no-such-tool", params={}, photos=2)
    with pytest.raises(BatchNotFound):
        await batch_studio.batch_of(stranger, "0" * 32)
    assert await usage_count(owner) == 0


async def test_a_panel_runs_a_batch_retries_and_shows_thumbnails(user: User, flaky: Flaky) -> None:
    owner = await make_user(limit=5)
    small = np.ascontiguousarray(skdata.astronaut()[:200, :200])
    photos = [await upload_photo(owner, name="big.jpg"), await upload_photo(owner, jpeg_bytes(small), name="s.jpg")]
    price = await batch_studio.quote_batch(owner, tool="t-flaky", params={}, photos=len(photos))
    assert price.covered and price.credits_left == 5

    events: list[JobView] = []
    view = await batch_studio.start_batch(owner, photo_ids=photos, tool="t-flaky", params={}, idempotency_key="dlg")
    unsubscribe = batch_studio.watch_batch(owner, view.id, events.append)
    try:
        done = await finished(owner, view)
        assert (done.succeeded, done.failed) == (1, 1)
        assert (await batch_studio.quote_retry(owner, view.id)).photos == 1
        flaky.strict.clear()
        retried = await finished(owner, await batch_studio.retry_batch(owner, view.id))
    finally:
        unsubscribe()
    panel = view
    for event in events:
        panel = panel.with_job(event)
    assert panel.succeeded == retried.succeeded == 2 and panel.items[1].attempts == 2
    assert [b.id for b in await batch_studio.recent_batches(owner)] == [view.id]

    await sign_in(user, owner)
    for item in retried.items:
        thumbnail = await user.http_client.get(batch_studio.thumbnail_url(item.result_id or ""))
        assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    assert batch_studio.zip_url(view.id, "png") == f"/batches/{view.id}/download?format=png"
    zipped = await user.http_client.get(batch_studio.zip_url(view.id, "png"))
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"


async def test_cancel_from_the_panel_refunds() -> None:
    owner = await make_user(limit=2)
    photos = [await upload_photo(owner), await upload_photo(owner)]
    view = await batch_studio.start_batch(owner, photo_ids=photos, tool="t-slow", params={"seconds": 30})
    assert await usage_count(owner) == 2
    cancelled = await batch_studio.cancel_batch(owner, view.id)
    assert cancelled.cancelled == 2 and await usage_count(owner) == 0
