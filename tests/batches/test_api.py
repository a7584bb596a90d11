"""/api/v1/batches over real HTTP: create (all or nothing, limit_to, idempotency), follow, cancel, download."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest
from nicegui.testing import User
from PIL import Image

from pixora_ui.engine.tools.registry import ToolRegistry
from pixora_ui.services import jobs
from tests.api.conftest import bearer, new_key, serving
from tests.services.conftest import make_pro, make_user, upload_photo, usage_count


@pytest.fixture
async def http(user: User, batch_registry: ToolRegistry) -> AsyncIterator[httpx.AsyncClient]:
    async with serving() as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


async def test_a_batch_runs_one_job_per_photo_and_downloads_as_a_zip(http: httpx.AsyncClient) -> None:
    owner = await make_pro()
    headers = bearer(await new_key(owner))
    photos = [await upload_photo(owner, name=f"shot {i}.jpg") for i in range(3)]
    body = {"photo_ids": photos, "tool": "remove-bg", "params": {"mode": "standard"}}
    created = await http.post("/api/v1/batches?wait=30", json=body, headers={**headers, "Idempotency-Key": "b-1"})
    assert created.status_code == 200, created.text
    state = created.json()
    assert state["done"] and state["status"] == "finished" and state["succeeded"] == 3 and state["progress"] == 1
    assert [job["photo_id"] for job in state["jobs"]] == photos
    assert created.headers["location"] == f"/api/v1/batches/{state['id']}"

    again = await http.post("/api/v1/batches", json=body, headers={**headers, "Idempotency-Key": "b-1"})
    assert again.json()["id"] == state["id"]
    other = {**body, "photo_ids": photos[:1]}
    reused = await http.post("/api/v1/batches", json=other, headers={**headers, "Idempotency-Key": "b-1"})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"

    fetched = await http.get(f"/api/v1/batches/{state['id']}", headers=headers)
    assert fetched.status_code == 200 and fetched.json()["jobs"] == state["jobs"]

    download = await http.get(f"{state['download_url']}?format=jpg", headers=headers)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.namelist() == ["shot-0-remove-bg.jpg", "shot-1-remove-bg.jpg", "shot-2-remove-bg.jpg"]
    for name in archive.namelist():
        assert Image.open(io.BytesIO(archive.read(name))).format == "JPEG"
    bad = await http.get(f"{state['download_url']}?format=gif", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_format"


async def test_free_account_is_refused_whole_then_runs_the_first_photos(http: httpx.AsyncClient) -> None:
    owner = await make_user(limit=2)
    headers = bearer(await new_key(owner))
    photos = [await upload_photo(owner) for _ in range(3)]
    body = {"photo_ids": photos, "tool": "t-slow", "params": {"seconds": 30}}
    refused = await http.post("/api/v1/batches", json=body, headers=headers)
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "credits_exhausted" and "first 2" in error["message"]
    assert await usage_count(owner) == 0

    created = await http.post("/api/v1/batches", json={**body, "limit_to": 2}, headers=headers)
    assert created.status_code == 202, created.text
    state = created.json()
    assert state["total"] == 2 and state["credits_charged"] == 2 and not state["done"]
    assert await usage_count(owner) == 2

    cancelled = await http.post(f"/api/v1/batches/{state['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"]
    # A queued photo is cancelled at once; a running one as soon as the tool notices.
    for job in cancelled.json()["jobs"]:
        await jobs.wait_for(job["id"], user_id=owner, timeout=30)
    after = (await http.get(f"/api/v1/batches/{state['id']}", headers=headers)).json()
    assert after["done"] and after["cancelled"] == 2 and after["credits_charged"] == 0
    assert all(job["status"] == "cancelled" for job in after["jobs"])
    assert await usage_count(owner) == 0
    nothing = await http.get(f"/api/v1/batches/{state['id']}/download", headers=headers)
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "nothing_to_download"


async def test_batches_are_private_and_requests_are_checked(http: httpx.AsyncClient) -> None:
    owner = await make_pro()
    stranger = await make_pro("stranger@example.com")
    mine, theirs = bearer(await new_key(owner)), bearer(await new_key(stranger))
    photo = await upload_photo(owner)
    created = await http.post("/api/v1/batches", json={"photo_ids": [photo], "tool": "t-invert"}, headers=mine)
    batch_id = created.json()["id"]
    for method, path in (
        ("GET", f"/api/v1/batches/{batch_id}"),
        ("POST", f"/api/v1/batches/{batch_id}/cancel"),
        ("GET", f"/api/v1/batches/{batch_id}/download"),
    ):
        response = await http.request(method, path, headers=theirs)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", path
        assert (await http.request(method, path)).status_code == 401
    cases = [
        ({"photo_ids": [photo], "tool": "t-invert"}, theirs, 404, "not_found"),
        ({"photo_ids": [photo], "tool": "nope"}, mine, 400, "unknown_tool"),
        ({"photo_ids": [], "tool": "t-invert"}, mine, 422, "invalid_request"),
        ({"photo_ids": [photo], "tool": "t-slow", "params": {"seconds": 999}}, mine, 422, "invalid_params"),
        ({"photo_ids": [photo], "tool": "t-invert", "limit_to": 2}, mine, 400, "bad_request"),
    ]
    for body, headers, status, code in cases:
        response = await http.post("/api/v1/batches", json=body, headers=headers)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    as_text = await http.post("/api/v1/batches", content=b"x", headers={**mine, "Content-Type": "text/plain"})
    assert as_text.status_code == 415
    schema = (await http.get("/api/v1/openapi.json")).json()
    assert {"/batches", "/batches/{id}", "/batches/{id}/cancel", "/batches/{id}/download"} <= set(schema["paths"])
