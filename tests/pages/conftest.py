"""Studio test helpers: a signed-in user, sample photos from scikit-image (never committed files)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from nicegui.testing import User
from PIL import Image
from skimage import data

from db.session import session_scope
from pixora_ui.auth import passwords
from pixora_ui.auth.accounts import create_password_user
from pixora_ui.engine.tools.registry import Param, Tool, ToolError, ToolRegistry, ToolResult
from pixora_ui.providers import router

PASSWORD = "correct horse battery"


async def make_user(address: str = "ada@example.com", *, plan: str = "free") -> int:
    password_hash = await passwords.hash_password(PASSWORD)
    async with session_scope() as session:
        user = await create_password_user(session, email=address, password_hash=password_hash, name="Ada", plan=plan)
        return user.id


async def sign_in(user: User, address: str = "ada@example.com", next_path: str = "/studio") -> None:
    await user.open(f"/login?next={next_path}")
    user.find(marker="email").type(address)
    user.find(marker="password").type(PASSWORD)
    user.find(marker="login-submit").click()


def sample_png(name: str = "astronaut", size: int | None = None) -> bytes:
    pixels = np.asarray(getattr(data, name)())
    image = Image.fromarray(pixels)
    if size:
        image = image.resize((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _invert(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    progress(0.5, "Inverting…")
    out = image.copy()
    out[:, :, :3] = 255 - out[:, :, :3]
    return ToolResult(image=out)


def _cutout(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    rgba = np.dstack([image[:, :, :3], np.full(image.shape[:2], 255, np.uint8)])
    rgba[: image.shape[0] // 2, :, 3] = 0
    return ToolResult(image=rgba, format_hint="png")


def _erase(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    mask = params["mask"]
    out = image.copy()
    out[mask[:, :, 0] > 127] = 0
    return ToolResult(image=out)


def _fail(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    raise ToolError("The test tool failed on purpose.")


def build_studio_registry() -> ToolRegistry:
    """Small, fast tools with the real registry's names and parameter kinds."""
    registry = ToolRegistry()
    registry.add(
        Tool(
            name="remove-bg",
            label="Remove background",
            group="cutout",
            description="Transparent cut-out",
            run=_cutout,
            icon="content_cut",
            params=(
                Param(
                    name="mode",
                    label="Quality",
                    kind="choice",
                    default="standard",
                    choices=("standard", "pro"),
                    choice_labels=("Standard", "Pro"),
                ),
            ),
        )
    )
    registry.add(
        Tool(name="adjust", label="Invert", group="adjust", description="test", run=_invert, costs_credit=False)
    )
    registry.add(
        Tool(
            name="crop",
            label="Crop",
            group="adjust",
            description="Crop to a ratio",
            run=_invert,
            costs_credit=False,
            params=(Param(name="aspect", label="Aspect", kind="choice", default="1:1", choices=("1:1", "16:9")),),
        )
    )
    registry.add(
        Tool(
            name="erase",
            label="Magic erase",
            group="generative",
            description="Brush over things to remove",
            run=_erase,
            painted_mask="mask",
            params=(Param(name="mask", label="Mask", kind="image", required=True),),
        )
    )
    registry.add(Tool(name="upscale", label="Fails", group="enhance", description="test", run=_fail))
    registry.add(
        Tool(
            name="retouch",
            label="Retouch",
            group="enhance",
            description="needs models",
            run=_invert,
            availability=lambda: (False, "models not installed"),
        )
    )
    return registry


@pytest.fixture
def studio_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    registry = build_studio_registry()
    monkeypatch.setattr("pixora_ui.engine.tools.catalog.get_registry", lambda: registry)
    router.reset_providers()
    yield registry
    router.reset_providers()
