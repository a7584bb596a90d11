"""The seed endpoints and job status over HTTP: /api/usage, /api/gemini/edit, /api/jobs."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import numpy as np
import pytest
from nicegui.testing import User

from db.models import User as UserRow
from db.session import session_scope
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.providers import router
from pixora_ui.providers.gemini import GeminiProvider
from pixora_ui.services import assets, jobs
from pixora_ui.settings import reset_settings
from tests.fakes import gemini_fake
from tests.fakes.gemini_fake import GeminiFake, run_gemini_fake
from tests.pages.test_no_operator_jargon import jargon_in
from tests.services.conftest import jpeg_bytes, make_pro, make_user, png_bytes, upload_photo, usage_count

pytestmark = pytest.mark.usefixtures("test_registry")


async def sign_in(user: User, user_id: int) -> None:
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)


async def set_used(user_id: int, used: int) -> None:
    async with session_scope() as session:
        row = await session.get(UserRow, user_id)
        assert row is not None
        row.usage_count = used


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiFake]:
    with run_gemini_fake() as fake:
        monkeypatch.setenv("GEMINI_API_KEY", gemini_fake.API_KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
        monkeypatch.setattr(GeminiProvider, "retry_delays_s", (0.01, 0.02, 0.04))
        reset_settings()
        router.reset_providers()
        yield fake
    router.reset_providers()


async def test_usage_status_codes(user: User, any_db: str) -> None:
    response = await user.http_client.get("/api/usage")
    assert response.status_code == 401
    free = await make_user()
    await sign_in(user, free)
    response = await user.http_client.get("/api/usage")
    assert response.status_code == 200
    assert response.json() == {"plan": "free", "used": 0, "limit": 3, "remaining": 3}
    await set_used(free, 3)
    response = await user.http_client.get("/api/usage")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "limit_reached" and body["upgrade_url"] == "/billing"
    pro = await make_pro()
    await sign_in(user, pro)
    response = await user.http_client.get("/api/usage")
    assert response.status_code == 200
    assert response.json() == {"plan": "pro", "used": 0, "limit": None, "remaining": None}


async def test_job_status_only_for_its_owner(user: User) -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    await sign_in(user, owner)
    response = await user.http_client.post(
        "/api/jobs", json={"asset_id": photo, "tool": "t-invert", "idempotency_key": "k1"}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    again = await user.http_client.post(
        "/api/jobs", json={"asset_id": photo, "tool": "t-invert", "idempotency_key": "k1"}
    )
    assert again.json()["id"] == job_id
    assert await usage_count(owner) == 1
    assert (await user.http_client.get(f"/api/jobs/{job_id}")).status_code == 200
    stranger = await make_user("stranger@example.com")
    await sign_in(user, stranger)
    assert (await user.http_client.get(f"/api/jobs/{job_id}")).status_code == 404
    assert (await user.http_client.get("/api/jobs/nope")).status_code == 404
    user.http_client.cookies.clear()
    assert (await user.http_client.get(f"/api/jobs/{job_id}")).status_code == 401
    bad_origin = await user.http_client.post(
        "/api/jobs", json={"asset_id": photo, "tool": "t-invert"}, headers={"Origin": "https://evil.example"}
    )
    assert bad_origin.status_code == 403


async def test_gemini_edit_errors(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    image = base64.b64encode(jpeg_bytes()).decode()
    response = await user.http_client.post("/api/gemini/edit", json={"image": image, "prompt": "make it pop"})
    assert response.status_code == 401
    free = await make_user()
    await sign_in(user, free)
    post = user.http_client.post
    assert (await post("/api/gemini/edit", json={"image": image, "prompt": "  "})).status_code == 400
    assert (await post("/api/gemini/edit", json={"image": image, "prompt": "x" * 1001})).status_code == 400
    assert (await post("/api/gemini/edit", json={"image": "not base64!!", "prompt": "hi"})).status_code == 400
    not_image = base64.b64encode(b"hello world, not a photo").decode()
    # No generative provider configured: a clear 503 before anything is stored or charged.
    response = await post("/api/gemini/edit", json={"image": image, "prompt": "add a rainbow"})
    assert response.status_code == 503
    message = response.json()["message"]
    assert "Gemini or ImageKit" in message and not jargon_in(message)  # what to do, not which setting
    assert await usage_count(free) == 0
    big = base64.b64encode(b"\xff" * (26 * 1024 * 1024)).decode()
    assert (await post("/api/gemini/edit", json={"image": big, "prompt": "hi"})).status_code == 413
    await set_used(free, 3)
    assert (await post("/api/gemini/edit", json={"image": image, "prompt": "add a rainbow"})).status_code == 403
    assert not_image


async def test_gemini_edit_through_a_job(user: User, gemini: GeminiFake) -> None:
    free = await make_user()
    await sign_in(user, free)
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode()
    response = await user.http_client.post("/api/gemini/edit", json={"image": data_url, "prompt": "add a rainbow"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mimeType"] in {"image/png", "image/jpeg"}
    assert len(base64.b64decode(body["image"])) > 1000
    assert await usage_count(free) == 1
    job = (await user.http_client.get(f"/api/jobs/{body['jobId']}")).json()
    assert job["status"] == "succeeded" and job["provider"] == "gemini" and job["credit_state"] == "kept"
    # The photo is named from its prompt, not "gemini-edit" like every other one.
    async with session_scope() as session:
        (item,) = await assets.list_library(session, owner_id=free)
    assert item.original.name == "Add a rainbow"
    not_image = base64.b64encode(b"hello world, not a photo").decode()
    response = await user.http_client.post("/api/gemini/edit", json={"image": not_image, "prompt": "add a rainbow"})
    assert response.status_code == 400
    gemini.script("500", "500", "500", "500")
    response = await user.http_client.post("/api/gemini/edit", json={"image": data_url, "prompt": "add snow"})
    assert response.status_code == 502
    assert "refunded" in response.json()["message"]
    assert await usage_count(free) == 1


async def test_mask_upload_and_cancel_over_http(user: User) -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    await sign_in(user, owner)
    strokes = png_bytes(np.full((50, 50, 3), 255, dtype=np.uint8))
    response = await user.http_client.post(
        f"/api/assets/{photo}/mask", content=strokes, headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 201, response.text
    mask_id = response.json()["id"]
    data_url = "data:image/png;base64," + base64.b64encode(strokes).decode()
    assert (await user.http_client.post(f"/api/assets/{photo}/mask", json={"image": data_url})).status_code == 201
    assert (await user.http_client.post(f"/api/assets/{photo}/mask", content=b"nope")).status_code == 400
    job = await user.http_client.post(
        "/api/jobs", json={"asset_id": photo, "tool": "t-mask", "params": {"mask": mask_id}}
    )
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    done = await jobs.wait_for(job_id, user_id=owner, timeout=20)
    assert done.status == "succeeded"
    slow = await user.http_client.post(
        "/api/jobs", json={"asset_id": photo, "tool": "t-slow", "params": {"seconds": 30}}
    )
    cancelled = await user.http_client.post(f"/api/jobs/{slow.json()['id']}/cancel")
    assert cancelled.status_code == 200
    final = await jobs.wait_for(slow.json()["id"], user_id=owner, timeout=20)
    assert final.status == "cancelled" and final.credit_state == "refunded"
    stranger = await make_user("stranger@example.com")
    await sign_in(user, stranger)
    assert (await user.http_client.post(f"/api/assets/{photo}/mask", content=strokes)).status_code == 404
    assert (await user.http_client.post(f"/api/jobs/{job_id}/cancel")).status_code == 404
