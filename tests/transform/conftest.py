"""Fixtures for the transformation URL tests: the real app in a subprocess, photos, polling helpers."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skdata

from db.session import session_scope
from pixora_ui.services import assets
from tests.app_server import serve_app


@dataclass(frozen=True)
class App:
    url: str
    log: Path

    def computed(self) -> int:
        """How many images the server has computed so far (it logs each computation once)."""
        return self.log.read_text(errors="replace").count("computed image ")


@pytest.fixture
def app_env() -> dict[str, str]:
    """Extra settings for the app under test (a test module may override this fixture)."""
    return {"TRANSFORM_AI_WAIT_S": "1"}


@pytest.fixture
def app(request: pytest.FixtureRequest, isolated_env: Path, app_env: dict[str, str]) -> Iterator[App]:
    """`main.py serve` on this test's data folder (and on PostgreSQL when the test asks for any_db)."""
    if "any_db" in request.fixturenames:
        request.getfixturevalue("any_db")
    log = isolated_env.parent / "app.log"
    with serve_app(isolated_env, app_env, log_path=log) as url:
        yield App(url=url, log=log)


def photo_jpeg(width: int = 1200, height: int = 800) -> bytes:
    image = Image.fromarray(skdata.astronaut()).resize((width, height))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


async def upload(owner: int, data: bytes | None = None, *, public: bool = False, name: str = "photo.jpg") -> str:
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=owner, data=data or photo_jpeg(), filename=name)
        if public:
            await assets.set_public(session, owner_id=owner, asset_id=view.id, public=True)
        return view.id


def size_of(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as image:
        return image.size


async def wait_until(check: Callable[[], Awaitable[bool]], *, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll `check` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
