"""The public API over real HTTP: keys, every route's 401/404/400/413/415/422, idempotency, waiting,
cancelling, Server-Sent Events, tools, usage, the rate limit and the one error shape."""

from __future__ import annotations

import asyncio
import io
import json
import re
from typing import Any

import httpx
import pytest
from PIL import Image

from db.models import ApiKey
from db.session import session_scope
from pixora_ui.api import keys
from pixora_ui.settings import reset_settings
from tests.api.conftest import bearer, new_key
from tests.services.conftest import jpeg_bytes, make_pro, make_user, usage_count

V1 = "/api/v1"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])


async def upload(http: httpx.AsyncClient, key: str, data: bytes | None = None, name: str = "astronaut.jpg") -> str:
    response = await http.post(
        f"{V1}/photos", headers=bearer(key), files={"file": (name, data or jpeg_bytes(), "image/jpeg")}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_key_lifecycle(http: httpx.AsyncClient, any_db: str) -> None:
    owner = await make_user()
    key = await new_key(owner, "Website")
    assert key.startswith("pix_live_") and len(key) > 50
    async with session_scope() as session:
        row = (await session.execute(ApiKey.__table__.select())).one()
    assert row.key_hash == keys.hash_key(key) and key not in json.dumps([str(v) for v in row])
    assert row.prefix == key[:17] and row.last_used_at is None

    assert_error(await http.get(f"{V1}/usage"), 401, "missing_api_key")
    assert (await http.get(f"{V1}/usage", headers=bearer(key))).status_code == 200
    assert (await http.get(f"{V1}/usage", headers={"X-Api-Key": key})).status_code == 200
    listed = await keys.keys_of(owner)
    assert [k.name for k in listed] == ["Website"] and listed[0].last_used_at is not None

    assert_error(await http.get(f"{V1}/usage", headers=bearer("pix_live_" + "x" * 43)), 401, "invalid_api_key")
    assert_error(await http.get(f"{V1}/usage", headers=bearer("not-a-key")), 401, "invalid_api_key")
    assert_error(await http.get(f"{V1}/usage", headers={"Authorization": f"Basic {key}"}), 401, "missing_api_key")

    stranger = await make_user("stranger@example.com")
    assert not await keys.revoke(stranger, listed[0].id)  # not theirs
    assert await keys.revoke(owner, listed[0].id)
    assert not await keys.revoke(owner, listed[0].id)  # already revoked
    assert_error(await http.get(f"{V1}/usage", headers=bearer(key)), 401, "invalid_api_key")
    assert await keys.keys_of(owner) == []


def _fill(path: str) -> str:
    return path.replace("{photo_id}", "p" * 32).replace("{job_id}", "j" * 32)


async def test_every_route_needs_a_key(http: httpx.AsyncClient) -> None:
    schema = (await http.get(f"{V1}/openapi.json")).json()
    assert schema["servers"] == [{"url": V1}]
    routes = [(method.upper(), path) for path, item in schema["paths"].items() for method in item]
    assert len(routes) >= 12
    for method, path in routes:
        response = await http.request(method, V1 + _fill(path), json={} if method == "POST" else None)
        assert_error(response, 401, "missing_api_key")
        response = await http.request(
            method, V1 + _fill(path), json={} if method == "POST" else None, headers=bearer("pix_live_nope")
        )
        assert_error(response, 401, "invalid_api_key")
    docs = await http.get("/api/docs")
    assert docs.status_code == 200 and f"{V1}/openapi.json" in docs.text
    # Every script and style the page loads is served here (the docs work with no internet).
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(url.startswith("/api/docs/assets/") for url in assets), assets
    for url in assets:
        assert (await http.get(url)).status_code == 200, url


async def test_another_accounts_resources_are_not_found(http: httpx.AsyncClient) -> None:
    owner = await make_user()
    owner_key = await new_key(owner)
    photo = await upload(http, owner_key)
    job = (
        await http.post(f"{V1}/edits?wait=20", headers=bearer(owner_key), json={"photo_id": photo, "tool": "t-invert"})
    ).json()
    assert job["status"] == "succeeded"
    other_key = await new_key(await make_user("stranger@example.com"))
    h = bearer(other_key)
    for method, path in [
        ("GET", f"/photos/{photo}"),
        ("DELETE", f"/photos/{photo}"),
        ("GET", f"/photos/{photo}/versions"),
        ("GET", f"/photos/{photo}/file"),
        ("GET", f"/photos/{job['result_photo_id']}/file"),
        ("GET", f"/jobs/{job['id']}"),
        ("POST", f"/jobs/{job['id']}/cancel"),
        ("GET", f"/jobs/{job['id']}/events"),
        ("GET", "/photos/nope"),
        ("GET", "/jobs/nope"),
    ]:
        assert_error(await http.request(method, V1 + path, headers=h), 404, "not_found")
    assert_error(await http.post(f"{V1}/edits", headers=h, json={"photo_id": photo, "tool": "t-invert"}), 404)
    # The owner still has everything.
    assert (await http.get(f"{V1}/photos/{photo}", headers=bearer(owner_key))).status_code == 200
    assert (await http.get(f"{V1}/photos", headers=h)).json()["data"] == []


async def test_photos(http: httpx.AsyncClient, any_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await new_key(await make_user())
    h = bearer(key)
    # Multipart, and the raw body with its Content-Type.
    first = await upload(http, key, name="first.jpg")
    raw = await http.post(f"{V1}/photos?name=raw.png", headers={**h, "Content-Type": "image/png"}, content=_png(64, 48))
    assert raw.status_code == 201, raw.text
    body = raw.json()
    assert body["name"] == "raw.png" and (body["width"], body["height"]) == (64, 48) and body["mime"] == "image/png"
    assert raw.headers["location"] == f"{V1}/photos/{body['id']}"
    third = await upload(http, key, name="third.jpg")

    page = (await http.get(f"{V1}/photos?limit=2", headers=h)).json()
    assert [p["id"] for p in page["data"]] == [third, body["id"]] and page["has_more"]
    rest = (await http.get(f"{V1}/photos?limit=2&offset=2", headers=h)).json()
    assert [p["id"] for p in rest["data"]] == [first] and not rest["has_more"]
    assert_error(await http.get(f"{V1}/photos?limit=0", headers=h), 422, "invalid_request")

    # The studio's checks and messages.
    not_image = await http.post(
        f"{V1}/photos", headers=h, files={"file": ("x.jpg", b"hello, not a photo", "image/jpeg")}
    )
    assert "not an image Pixora can read" in assert_error(not_image, 415, "unsupported_image")["message"]
    empty = await http.post(f"{V1}/photos", headers={**h, "Content-Type": "image/jpeg"}, content=b"")
    assert assert_error(empty, 400, "invalid_image")["message"] == "The file is empty."
    assert_error(
        await http.post(f"{V1}/photos", headers=h, files={"other": ("x.jpg", jpeg_bytes())}), 400, "missing_file"
    )
    assert_error(
        await http.post(f"{V1}/photos", headers={**h, "Content-Type": "text/plain"}, content=b"hi"),
        415,
        "unsupported_media_type",
    )
    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    reset_settings()
    over = await http.post(f"{V1}/photos", headers={**h, "Content-Type": "image/jpeg"}, content=b"\xff" * 1_600_000)
    assert "larger than the 1 MB limit" in assert_error(over, 413, "too_large")["message"]
    far_over = await http.post(f"{V1}/photos", headers={**h, "Content-Type": "image/jpeg"}, content=b"\xff" * 3_000_000)
    assert_error(far_over, 413, "too_large")

    # One photo, its file (as stored or converted), its versions, delete.
    got = (await http.get(f"{V1}/photos/{first}", headers=h)).json()
    assert got["original_id"] == first and got["parent_id"] is None and got["file_url"] == f"{V1}/photos/{first}/file"
    stored = await http.get(f"{V1}/photos/{first}/file", headers=h)
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
    assert len(stored.content) == got["size"]
    png = await http.get(f"{V1}/photos/{first}/file?format=png", headers=h)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert_error(await http.get(f"{V1}/photos/{first}/file?format=gif", headers=h), 400, "bad_format")
    edit = await http.post(f"{V1}/edits?wait=20", headers=h, json={"photo_id": first, "tool": "t-free"})
    result = edit.json()["result_photo_id"]
    versions = (await http.get(f"{V1}/photos/{result}/versions", headers=h)).json()["data"]
    assert [v["id"] for v in versions] == [first, result] and versions[1]["tool"] == "t-free"
    assert (await http.delete(f"{V1}/photos/{first}", headers=h)).status_code == 204
    assert_error(await http.get(f"{V1}/photos/{first}", headers=h), 404)
    assert_error(await http.get(f"{V1}/photos/{result}", headers=h), 404)  # an upload takes its versions


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


async def test_edits_idempotency_wait_and_errors(http: httpx.AsyncClient, any_db: str) -> None:
    owner = await make_user()
    key = await new_key(owner)
    h = bearer(key)
    photo = await upload(http, key)
    once = {**h, "Idempotency-Key": "order-42"}
    first = await http.post(f"{V1}/edits", headers=once, json={"photo_id": photo, "tool": "t-invert"})
    assert first.status_code == 202 and first.headers["location"] == f"{V1}/jobs/{first.json()['id']}"
    again = await http.post(f"{V1}/edits", headers=once, json={"photo_id": photo, "tool": "t-invert"})
    assert again.json()["id"] == first.json()["id"]
    assert await usage_count(owner) == 1
    reused = await http.post(f"{V1}/edits", headers=once, json={"photo_id": photo, "tool": "t-free"})
    assert_error(reused, 409, "idempotency_key_reused")
    # Concurrent retries with one key: one job, one credit.
    race = {**h, "Idempotency-Key": "race"}
    answers = await asyncio.gather(
        *(http.post(f"{V1}/edits", headers=race, json={"photo_id": photo, "tool": "t-invert"}) for _ in range(5))
    )
    assert len({a.json()["id"] for a in answers}) == 1
    assert await usage_count(owner) == 2

    waited = await http.post(f"{V1}/edits?wait=30", headers=h, json={"photo_id": photo, "tool": "t-invert"})
    assert waited.status_code == 200, waited.text
    job = waited.json()
    assert job["status"] == "succeeded" and job["done"] and job["credits_charged"] == 1
    assert job["retryable"] is None  # only a failure says whether sending it again can work
    result = await http.get(job["result_url"], headers=h)
    assert result.status_code == 200 and result.content[:2] == b"\xff\xd8"
    assert await usage_count(owner) == 3

    # No AI edits left on the Free plan: 402, and nothing is queued.
    assert_error(
        await http.post(f"{V1}/edits", headers=h, json={"photo_id": photo, "tool": "t-invert"}),
        402,
        "credits_exhausted",
    )
    free_tool = await http.post(f"{V1}/edits?wait=30", headers=h, json={"photo_id": photo, "tool": "t-free"})
    assert free_tool.status_code == 200 and free_tool.json()["credits_charged"] == 0

    assert_error(
        await http.post(f"{V1}/edits", headers=h, json={"photo_id": photo, "tool": "nope"}), 400, "unknown_tool"
    )
    unknown_provider = {"photo_id": photo, "tool": "t-free", "provider": "elsewhere"}
    assert_error(await http.post(f"{V1}/edits", headers=h, json=unknown_provider), 400, "unknown_provider")
    bad_param = await http.post(
        f"{V1}/edits", headers=h, json={"photo_id": photo, "tool": "t-slow", "params": {"seconds": 99}}
    )
    assert "at most 60" in assert_error(bad_param, 422, "invalid_params")["message"]
    assert_error(await http.post(f"{V1}/edits", headers=h, json={"tool": "t-free"}), 422, "invalid_request")
    assert_error(
        await http.post(f"{V1}/edits", headers={**h, "Content-Type": "application/json"}, content=b"{oops"),
        400,
        "bad_json",
    )
    assert_error(await http.post(f"{V1}/edits", headers={**h, "Content-Type": "text/plain"}, content=b"hi"), 415)
    huge = {"photo_id": photo, "tool": "t-free", "params": {"x": "y" * 300_000}}
    assert_error(await http.post(f"{V1}/edits", headers=h, json=huge), 413, "too_large")
    assert_error(await http.post(f"{V1}/edits?wait=61", headers=h, json={"photo_id": photo, "tool": "t-free"}), 422)


async def test_cancel(http: httpx.AsyncClient) -> None:
    owner = await make_pro()
    key = await new_key(owner)
    h = bearer(key)
    photo = await upload(http, key)
    slow = await http.post(
        f"{V1}/edits", headers=h, json={"photo_id": photo, "tool": "t-slow", "params": {"seconds": 30}}
    )
    job_id = slow.json()["id"]
    cancelled = await http.post(f"{V1}/jobs/{job_id}/cancel", headers=h)
    assert cancelled.status_code == 200
    final = await _wait_done(http, h, job_id)
    assert final["status"] == "cancelled"
    assert (await http.post(f"{V1}/jobs/{job_id}/cancel", headers=h)).status_code == 200  # already cancelled
    done = await http.post(f"{V1}/edits?wait=30", headers=h, json={"photo_id": photo, "tool": "t-free"})
    assert_error(await http.post(f"{V1}/jobs/{done.json()['id']}/cancel", headers=h), 409, "job_finished")
    listed = (await http.get(f"{V1}/jobs", headers=h)).json()["data"]
    assert [j["id"] for j in listed] == [done.json()["id"], job_id]


async def _wait_done(http: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """Follow the job's events to the end (no polling, no sleeps)."""
    events = await read_events(http, headers, job_id)
    return events[-1][1]


async def read_events(
    http: httpx.AsyncClient, headers: dict[str, str], job_id: str
) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    async with http.stream("GET", f"{V1}/jobs/{job_id}/events", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        name, data = "", ""
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and name:
                events.append((name, json.loads(data)))
                name, data = "", ""
    return events


async def test_server_sent_events(http: httpx.AsyncClient) -> None:
    key = await new_key(await make_pro())
    h = bearer(key)
    photo = await upload(http, key)
    slow = await http.post(
        f"{V1}/edits", headers=h, json={"photo_id": photo, "tool": "t-slow", "params": {"seconds": 1.5}}
    )
    events = await read_events(http, h, slow.json()["id"])
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"progress"} and len(names) >= 3, names
    running = [data["progress"] for name, data in events if name == "progress" and data["status"] == "running"]
    assert running and running == sorted(running) and 0 < max(running) < 1
    assert events[-1][1]["status"] == "succeeded" and events[-1][1]["result_url"]

    failing = await http.post(f"{V1}/edits", headers=h, json={"photo_id": photo, "tool": "t-fail"})
    events = await read_events(http, h, failing.json()["id"])
    assert events[-1][0] == "failed" and "failed on purpose" in events[-1][1]["error"]
    assert events[-1][1]["retryable"] is False  # the tool's own error: sending it again fails the same way
    # A finished job: one event and the stream ends.
    assert [name for name, _ in await read_events(http, h, failing.json()["id"])] == ["failed"]
    outage = await http.post(f"{V1}/edits?wait=30", headers=h, json={"photo_id": photo, "tool": "t-outage"})
    assert outage.json()["status"] == "failed" and outage.json()["retryable"] is True


async def test_tools_and_usage(http: httpx.AsyncClient) -> None:
    owner = await make_user()
    key = await new_key(owner)
    tools = {t["name"]: t for t in (await http.get(f"{V1}/tools", headers=bearer(key))).json()["data"]}
    assert {"t-invert", "t-slow", "t-free", "remove-bg"} <= set(tools)
    slow = tools["t-slow"]
    assert slow["credit_cost"] == 1 and slow["available"]
    assert slow["params"] == [
        {
            "name": "seconds",
            "label": "Seconds",
            "type": "float",
            "default": 0.5,
            "required": False,
            "min": 0.0,
            "max": 60.0,
            "step": None,
            "choices": None,
            "max_length": None,
            "help": "",
        }
    ]
    assert tools["t-free"]["credit_cost"] == 0
    assert [p["name"] for p in tools["t-slow"]["providers"]] == ["local"]
    mode = next(p for p in tools["remove-bg"]["params"] if p["name"] == "mode")
    assert mode["type"] == "choice" and mode["choices"] == ["standard", "pro"] and mode["default"] == "standard"
    usage = (await http.get(f"{V1}/usage", headers={"X-Api-Key": key})).json()
    assert usage == {"plan": "free", "used": 0, "limit": 3, "remaining": 3, "team_id": None}


async def test_rate_limit(http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_RATE_LIMIT", "3")
    reset_settings()
    key = await new_key(await make_user())
    other = await new_key(await make_user("other@example.com"))
    for _ in range(3):
        assert (await http.get(f"{V1}/usage", headers=bearer(key))).status_code == 200
    limited = await http.get(f"{V1}/usage", headers=bearer(key))
    assert "Try again in" in assert_error(limited, 429, "rate_limited")["message"]
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-ratelimit-limit"] == "3" and limited.headers["x-ratelimit-remaining"] == "0"
    # Per key: another key is not affected.
    assert (await http.get(f"{V1}/usage", headers=bearer(other))).status_code == 200


async def test_error_shape_for_unknown_routes_and_methods(http: httpx.AsyncClient) -> None:
    key = await new_key(await make_user())
    assert_error(await http.get(f"{V1}/nothing-here", headers=bearer(key)), 404, "not_found")
    assert_error(await http.put(f"{V1}/usage", headers=bearer(key)), 405, "method_not_allowed")
