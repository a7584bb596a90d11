"""The hostile-upload corpus (tests/web/corpus.py, generated) through every upload path: the
studio's upload zone, /api/gemini/edit and the mask route. No 5xx, no traceback in the log, no credit
for a refusal, and every refusal one plain sentence a person understands."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Iterator

import pytest
from nicegui import ElementFilter, ui
from nicegui.testing import User
from sqlalchemy import func, select, update

from db.models import Asset
from db.models import User as UserRow
from db.session import session_scope
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.services import assets
from tests.auth.conftest import RETRIES, make_user, sign_in
from tests.web.corpus import Hostile, corpus

JARGON = re.compile(r"Traceback|Error\(|Exception|errno|\bNone\b|PIL|cv2|numpy|sqlalchemy|<class", re.IGNORECASE)


def assert_plain(message: str) -> None:
    """One short sentence for a person: capitalised, ends with a full stop, no internals."""
    assert message and len(message) <= 220, message
    assert message[0].isupper() and message.rstrip().endswith("."), message
    assert not JARGON.search(message), message


def test_the_corpus_is_large_and_varied() -> None:
    files = corpus()
    assert len(files) >= 60
    assert sum(not f.acceptable for f in files) >= 30 and sum(f.acceptable for f in files) >= 20
    assert len({f.data for f in files}) >= 50


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    bad = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not bad, [r.getMessage() for r in bad]


async def _assets(user_id: int) -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(Asset).where(Asset.owner_id == user_id)) or 0)


async def _wait(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _error_rows() -> dict[int, str]:
    rows: dict[int, str] = {}
    for row in ElementFilter(marker="upload-error", local_scope=False):
        texts = [c.text for c in row.default_slot.children if isinstance(c, ui.label)]
        rows[row.id] = texts[0] if texts else ""
    return rows


@pytest.mark.usefixtures("no_tracebacks")
async def test_corpus_through_the_studio_upload(user: User) -> None:
    user_id = await make_user()
    await sign_in(user, next_path="/studio")
    await user.should_see(marker="studio", retries=RETRIES)
    upload = user.find(ui.upload).elements.pop()
    stored = await _assets(user_id)
    for item in corpus():
        with user.client:
            seen = set(_error_rows())
        await upload.handle_uploads([ui.upload.SmallFileUpload(item.name, item.mime, item.data)])

        async def settled(item: Hostile = item, before: int = stored, seen: set[int] = seen) -> bool:
            with user.client:
                new = set(_error_rows()) - seen
            return bool(new) or await _assets(user_id) > before

        await _wait(settled)
        with user.client:
            fresh = {k: v for k, v in _error_rows().items() if k not in seen}
        now = await _assets(user_id)
        if item.acceptable:
            assert now > stored and not fresh, (item.name, fresh)
        else:
            assert now == stored, f"{item.name} was stored"
            [message] = fresh.values()
            assert_plain(message.split(": ", 1)[1] if ": " in message else message)
        stored = now


async def _api_user(user: User) -> int:
    user_id = await make_user("api@example.com")
    async with session_scope() as session:
        await session.execute(update(UserRow).where(UserRow.id == user_id).values(usage_limit=1000))
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    return user_id


@pytest.mark.usefixtures("no_tracebacks", "test_registry")
async def test_corpus_through_the_gemini_edit_api(user: User, gemini: object) -> None:
    user_id = await _api_user(user)
    charged = 0
    for item in corpus():
        body = {"image": base64.b64encode(item.data).decode(), "prompt": "make the sky blue"}
        response = await user.http_client.post("/api/gemini/edit", json=body)
        assert response.status_code < 500, (item.name, response.status_code, response.text[:300])
        if response.status_code == 200:
            assert item.acceptable, item.name
            charged += 1
        else:
            assert response.status_code in {400, 413}, (item.name, response.status_code)
            assert not item.acceptable, (item.name, response.text[:300])
            assert_plain(response.json()["message"])
    async with session_scope() as session:
        used = await session.scalar(select(UserRow.usage_count).where(UserRow.id == user_id))
    assert used == charged  # refusals cost nothing


@pytest.mark.usefixtures("no_tracebacks", "test_registry")
async def test_corpus_through_the_mask_route(user: User) -> None:
    user_id = await _api_user(user)
    async with session_scope() as session:
        photo = await assets.upload(session, owner_id=user_id, data=corpus()[-1].data, filename="photo.png")
    for item in corpus():
        raw = await user.http_client.post(
            f"/api/assets/{photo.id}/mask", content=item.data, headers={"content-type": "image/png"}
        )
        data_url = "data:image/png;base64," + base64.b64encode(item.data).decode()
        as_json = await user.http_client.post(f"/api/assets/{photo.id}/mask", json={"image": data_url})
        for response in (raw, as_json):
            assert response.status_code < 500, (item.name, response.status_code, response.text[:300])
            if response.status_code == 201:
                assert item.acceptable, item.name
            else:
                assert response.status_code in {400, 413}, (item.name, response.status_code)
                assert_plain(response.json()["message"])
    async with session_scope() as session:
        used = await session.scalar(select(UserRow.usage_count).where(UserRow.id == user_id))
    assert used == 0
