"""The tool palette with the real tool declarations: the fields of the chosen mode only, and only the
providers that can run the current settings (no "Run with ImageKit" dead end)."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from components.tool_palette import apply_text, run_cost
from pixora_ui.providers import router
from pixora_ui.settings import reset_settings
from tests.pages.conftest import make_user, sample_png, sign_in

TOOL = "change-bg"


@pytest.fixture
def remote_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gemini and ImageKit configured (nothing is sent to them here: the palette only lists them)."""
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    monkeypatch.setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
    monkeypatch.setenv("IMAGEKIT_PUBLIC_KEY", "public_test")
    monkeypatch.setenv("IMAGEKIT_URL_ENDPOINT", "https://ik.example.com/pixora")
    reset_settings()
    router.reset_providers()


@pytest.fixture(autouse=True)
def fresh_providers() -> Any:
    router.reset_providers()
    yield
    router.reset_providers()


async def _open_change_background(user: User) -> None:
    await make_user()
    await sign_in(user)
    await user.should_see(marker="studio")
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([ui.upload.SmallFileUpload("astronaut.png", "image/png", sample_png(size=128))])
    await user.should_see(marker="version-0", retries=50)
    user.find(marker=f"tool-{TOOL}").elements.pop().set_value(True)
    await user.should_see(marker=f"param-{TOOL}-background")


def _choose(user: User, mode: str) -> None:
    user.find(marker=f"param-{TOOL}-background").elements.pop().set_value(mode)


def _offered(user: User) -> list[str]:
    return list(user.find(marker=f"provider-{TOOL}").elements.pop().options)


async def test_only_the_chosen_modes_fields_are_shown(user: User) -> None:
    await _open_change_background(user)
    await user.should_see(marker=f"param-{TOOL}-color")
    for hidden in ("blur", "color2", "angle", "image", "fit", "prompt"):
        await user.should_not_see(marker=f"param-{TOOL}-{hidden}")
    _choose(user, "blur")
    await user.should_see(marker=f"param-{TOOL}-blur")
    for hidden in ("color", "color2", "shadow", "image"):
        await user.should_not_see(marker=f"param-{TOOL}-{hidden}")
    _choose(user, "gradient")
    for shown in ("color", "color2", "angle"):
        await user.should_see(marker=f"param-{TOOL}-{shown}")
    await user.should_not_see(marker=f"param-{TOOL}-blur")


async def test_without_a_generative_provider_nothing_asks_for_a_description(user: User) -> None:
    await _open_change_background(user)
    modes = user.find(marker=f"param-{TOOL}-background").elements.pop().options
    assert "generative" not in modes
    await user.should_see("Runs on Pixora engine")


async def test_providers_follow_the_mode_and_the_description_field_comes_with_them(
    user: User, remote_providers: None
) -> None:
    await _open_change_background(user)
    assert _offered(user) == ["local", "gemini"]  # ImageKit changes backgrounds only from a description
    _choose(user, "image")
    await user.should_not_see(marker=f"provider-{TOOL}")
    await user.should_see("Runs on Pixora engine")  # neither remote service can place another photo
    _choose(user, "generative")
    await user.should_see(marker=f"param-{TOOL}-prompt")
    await user.should_not_see(marker=f"param-{TOOL}-color")
    await user.should_see(marker=f"provider-{TOOL}")
    assert _offered(user) == ["gemini", "imagekit"]
    user.find(marker=f"provider-{TOOL}").elements.pop().set_value("imagekit")
    _choose(user, "blur")
    assert _offered(user) == ["local", "gemini"]
    assert user.find(marker=f"provider-{TOOL}").elements.pop().value == "local"


def test_apply_says_what_a_run_on_the_selected_photos_costs() -> None:
    """Issue 18: "Apply · 1 AI edit" while 7 photos are selected under-told the cost sevenfold."""
    assert apply_text(True) == "Apply · 1 AI edit"  # the open photo
    assert apply_text(False) == "Apply"
    assert apply_text(True, 7) == "Apply · 7 AI edits"
    assert apply_text(True, 1) == "Apply · 1 AI edit"
    assert apply_text(False, 7) == "Apply · Free"
    assert run_cost(True, 3) == "3 AI edits" and run_cost(False, 3) == "Free"
