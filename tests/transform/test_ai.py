"""AI effects in transformation URLs: run as the owner's jobs, charged once per distinct effect chain."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from db.models import Job
from db.session import session_scope
from pixora_ui.transform import signing
from tests.services.conftest import make_user, usage_count
from tests.transform.conftest import App, photo_jpeg, size_of, upload, wait_until


@pytest.fixture
def app_env() -> dict[str, str]:
    # Answer 202 at once while an effect runs, so the "still preparing" answer is what every first
    # request sees, whatever the machine's speed.
    return {"TRANSFORM_AI_WAIT_S": "0"}


async def _jobs(owner: int) -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(Job.user_id == owner)) or 0)


async def _until_settled(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """The first answer that is not 202 "still preparing"."""
    final: list[httpx.Response] = []

    async def settled() -> bool:
        response = await client.get(url, timeout=60)
        if response.status_code != 202:
            final.append(response)
        return bool(final)

    await wait_until(settled, timeout=240, what=f"{url} to settle")
    return final[0]


async def _until_ready(client: httpx.AsyncClient, url: str) -> httpx.Response:
    response = await _until_settled(client, url)
    assert response.status_code == 200, response.text
    return response


async def test_twenty_concurrent_requests_charge_once_per_distinct_effect(app: App, any_db: str) -> None:
    owner = await make_user(limit=3)
    photo = await upload(owner, photo_jpeg(400, 300))
    retouch = signing.signed_path(photo, name="me.jpg", transformation="e-retouch", expires_in=3600)
    async with httpx.AsyncClient(base_url=app.url) as client:
        first = await asyncio.gather(*[client.get(retouch, timeout=60) for _ in range(20)])
        assert {r.status_code for r in first} == {202}
        for response in first:
            assert response.headers["retry-after"] == "3"
            assert response.headers["is-intermediate-response"] == "true"
            assert response.headers["cache-control"] == "no-store"
        done = await _until_ready(client, retouch)
        assert done.headers["content-type"] == "image/jpeg" and size_of(done.content) == (400, 300)
        assert await usage_count(owner) == 1
        assert await _jobs(owner) == 1

        # The same effect followed by plain steps reuses the effect's result: no new charge.
        smaller = signing.signed_path(photo, name="me.jpg", transformation="e-retouch:w-100,f-png")
        result = await _until_ready(client, smaller)
        assert size_of(result.content) == (100, 75) and result.headers["content-type"] == "image/png"
        # A repeated request is a cache hit; nothing more is charged.
        again = await asyncio.gather(*[client.get(retouch, timeout=60) for _ in range(20)])
        assert {r.status_code for r in again} == {200} and {r.content for r in again} == {done.content}
        assert await usage_count(owner) == 1 and await _jobs(owner) == 1

        # A different effect is a different transformation: one more charge, however many ask.
        cutout = signing.signed_path(photo, name="me.png", transformation="e-bgremove", expires_in=3600)
        await asyncio.gather(*[client.get(cutout, timeout=60) for _ in range(20)])
        cut = await _until_ready(client, cutout)
        assert cut.headers["content-type"] == "image/png" and size_of(cut.content) == (400, 300)
        assert await usage_count(owner) == 2 and await _jobs(owner) == 2

        # With the owner's last credit spent, a new effect is refused with a clear message.
        await _until_ready(client, signing.signed_path(photo, transformation="e-bgremove:e-retouch"))
        assert await usage_count(owner) == 3
        refused = await _until_settled(client, signing.signed_path(photo, transformation="e-removedotbg"))
        assert refused.status_code == 402
        assert refused.json()["error"]["message"] == "The photo's owner has no AI edits left."
        assert await usage_count(owner) == 3
