"""Fixtures for the jobs, credits and media tests: a test tool registry, users, photos, a runner."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from db.models import PLAN_FREE, PLAN_PRO, User
from db.session import session_scope
from pixora_ui.engine.tools.registry import (
    ImageArray,
    NeedsGenerativeProvider,
    Param,
    Tool,
    ToolError,
    ToolRegistry,
    ToolResult,
    TransientToolError,
    check_cancelled,
)
from pixora_ui.providers import router
from pixora_ui.services import assets
from pixora_ui.storage.factory import reset_storage
from pixora_ui.workers import runner


def _invert(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    progress(0.5, "Inverting…")
    out = image.copy()
    out[:, :, :3] = 255 - out[:, :, :3]
    return ToolResult(image=out, note="Inverted")


def _fail(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    raise ToolError("The test tool failed on purpose.")


def _crash(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    raise RuntimeError("boom")


def _outage(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    # What a remote provider raises when its service times out, is unreachable, busy (429) or broken (5xx).
    raise TransientToolError("The test service is busy. Try again in a minute.")


def _slow(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    seconds = float(params["seconds"])
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        check_cancelled(cancelled)
        progress((time.monotonic() - started) / seconds, "Working…")
        time.sleep(0.02)
    return ToolResult(image=image, note="Slept")


def _masked(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    mask = params["mask"]
    assert isinstance(mask, np.ndarray) and mask.shape[:2] == image.shape[:2]
    out = image.copy()
    out[mask[:, :, 0] > 127] = 0
    return ToolResult(image=out)


def _prompt_local(image: ImageArray, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    raise NeedsGenerativeProvider("This edit needs a generative provider.")


def build_test_registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.add(Tool(name="t-invert", label="Invert", group="adjust", description="test", run=_invert))
    registry.add(Tool(name="t-fail", label="Fail", group="adjust", description="test", run=_fail))
    registry.add(Tool(name="t-crash", label="Crash", group="adjust", description="test", run=_crash))
    registry.add(Tool(name="t-outage", label="Outage", group="adjust", description="test", run=_outage))
    registry.add(
        Tool(
            name="t-slow",
            label="Slow",
            group="adjust",
            description="test",
            run=_slow,
            params=(Param(name="seconds", label="Seconds", kind="float", default=0.5, min=0, max=60),),
        )
    )
    registry.add(Tool(name="t-free", label="Free", group="adjust", description="test", run=_invert, costs_credit=False))
    registry.add(
        Tool(
            name="t-mask",
            label="Masked",
            group="adjust",
            description="test",
            run=_masked,
            params=(Param(name="mask", label="Mask", kind="image", required=True),),
        )
    )
    registry.add(
        Tool(
            name="prompt",
            label="Prompt edit",
            group="generative",
            description="test",
            run=_prompt_local,
            params=(Param(name="prompt", label="Prompt", kind="text", required=True, max_length=1000),),
        )
    )
    return registry


def installed_registry(monkeypatch: pytest.MonkeyPatch, registry: ToolRegistry) -> Iterator[ToolRegistry]:
    """Make `registry` the engine's for one test, with providers and storage built afresh around it."""
    monkeypatch.setattr("pixora_ui.engine.tools.catalog.get_registry", lambda: registry)
    router.reset_providers()
    reset_storage()
    yield registry
    router.reset_providers()
    reset_storage()


@pytest.fixture
def test_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    yield from installed_registry(monkeypatch, build_test_registry())


def jpeg_bytes(pixels: ImageArray | None = None, quality: int = 90) -> bytes:
    image = Image.fromarray(pixels if pixels is not None else skdata.astronaut())
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def png_bytes(pixels: ImageArray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


async def make_user(email: str = "free@example.com", *, plan: str = PLAN_FREE, limit: int | None = 3) -> int:
    async with session_scope() as session:
        user = User(
            email=email,
            name=email.split("@", maxsplit=1)[0],
            plan=plan,
            usage_limit=limit if plan == PLAN_FREE else None,
        )
        session.add(user)
        await session.flush()
        return user.id


async def make_pro(email: str = "pro@example.com") -> int:
    return await make_user(email, plan=PLAN_PRO, limit=None)


async def usage_count(user_id: int) -> int:
    async with session_scope() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.usage_count


async def upload_photo(user_id: int, data: bytes | None = None, name: str = "astronaut.jpg") -> str:
    async with session_scope() as session:
        view = await assets.upload(session, owner_id=user_id, data=data or jpeg_bytes(), filename=name)
        return view.id


@pytest.fixture
async def running_runner(test_registry: ToolRegistry) -> AsyncIterator[None]:
    await runner.start()
    yield
    await runner.stop()
