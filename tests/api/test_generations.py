"""POST /api/v1/generations over real HTTP: text-to-image through Gemini's real SDK against the fake
service; one job and one AI edit per picture, new photos in the library, refusals refunded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.conftest import bearer, new_key
from tests.api.test_routes import assert_error
from tests.fakes.gemini_fake import ASPECT_SIZES, GeminiFake
from tests.providers.conftest import gemini  # noqa: F401  (the fixture)
from tests.services.conftest import make_user, usage_count

V1 = "/api/v1"


@pytest.fixture
async def api(gemini: GeminiFake, real_api_url: str) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with httpx.AsyncClient(base_url=real_api_url, timeout=90) as client:
        yield client


async def test_pictures_become_photos_one_edit_each(api: httpx.AsyncClient) -> None:
    user_id = await make_user("maker@example.com", limit=3)
    key = await new_key(user_id)
    response = await api.post(
        f"{V1}/generations?wait=60",
        headers=bearer(key),
        json={"prompt": "a red bicycle on a beach", "aspect": "16:9", "count": 2},
    )
    assert response.status_code == 200, response.text
    jobs = response.json()["data"]
    assert len(jobs) == 2 and all(j["status"] == "succeeded" and j["result_photo_id"] for j in jobs), jobs
    assert await usage_count(user_id) == 2
    photo = (await api.get(f"{V1}/photos/{jobs[0]['result_photo_id']}", headers=bearer(key))).json()
    assert photo["name"] == "Created from: a red bicycle on a beach"
    assert (photo["width"], photo["height"]) == ASPECT_SIZES["16:9"]

    # One edit left: of three pictures asked, the one that fits is made; then none is left (402).
    more = await api.post(f"{V1}/generations?wait=60", headers=bearer(key), json={"prompt": "a kite", "count": 3})
    assert more.status_code == 200 and len(more.json()["data"]) == 1, more.text
    assert_error(await api.post(f"{V1}/generations", headers=bearer(key), json={"prompt": "a kite"}), 402)


async def test_a_refusal_is_refunded_and_bad_requests_are_named(api: httpx.AsyncClient, gemini: GeminiFake) -> None:  # noqa: F811
    user_id = await make_user("refused@example.com", limit=3)
    key = await new_key(user_id)
    gemini.script("blocked")
    response = await api.post(f"{V1}/generations?wait=60", headers=bearer(key), json={"prompt": "something"})
    (job,) = response.json()["data"]
    assert job["status"] == "failed" and "refunded" in job["error"], job
    assert await usage_count(user_id) == 0
    assert_error(await api.post(f"{V1}/generations", headers=bearer(key), json={"prompt": "x", "count": 9}), 422)
    assert_error(await api.post(f"{V1}/generations", headers=bearer(key), json={"prompt": "x", "aspect": "2:1"}), 422)
    assert_error(await api.post(f"{V1}/generations", json={"prompt": "x"}), 401)


async def test_without_a_provider_it_says_so(real_api_url: str) -> None:
    user_id = await make_user("noprovider@example.com", limit=3)
    key = await new_key(user_id)
    async with httpx.AsyncClient(base_url=real_api_url, timeout=30) as client:
        response = await client.post(f"{V1}/generations", headers=bearer(key), json={"prompt": "a kite"})
    assert_error(response, 503, "tool_unavailable")
    assert await usage_count(user_id) == 0
