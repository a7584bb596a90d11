"""Routing: per-tool defaults, the PROVIDER_PREFERENCE override, generative requests, the hand-off."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from pixora_ui.engine.tools import catalog
from pixora_ui.engine.tools.registry import NeedsGenerativeProvider, ToolRegistry, ToolResult, ToolUnavailable
from pixora_ui.providers import router
from pixora_ui.settings import reset_settings
from tests.fakes.gemini_fake import GeminiFake
from tests.fakes.imagekit_fake import ImageKitFake
from tests.providers.helpers import make_request, photo


def _needs_generation(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    raise NeedsGenerativeProvider("needs a generative provider")


def _same(image: Any, params: dict[str, Any], progress: Any, cancelled: Any) -> ToolResult:
    return ToolResult(image=image)


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    """The real tools' declarations (which requests need a generative model), with runs that need no
    model weights."""
    real = catalog.get_registry()
    registry = ToolRegistry()
    for name in ("remove-bg", "upscale", "retouch", "smart-crop", "erase", "expand", "change-bg"):
        registry.add(dataclasses.replace(real.get(name), run=_same, availability=lambda: (True, "")))
    registry.add(dataclasses.replace(real.get("prompt"), run=_needs_generation))
    monkeypatch.setattr("pixora_ui.engine.tools.catalog.get_registry", lambda: registry)
    router.reset_providers()
    yield registry
    router.reset_providers()


def _names(tool: str, params: dict[str, Any] | None = None) -> list[str]:
    return [c.name for c in router.choices_for(tool, params)]


def test_local_only_without_keys() -> None:
    assert _names("remove-bg") == ["local"]
    assert router.choose("prompt").name == "local"
    with pytest.raises(ToolUnavailable, match="gemini is not configured"):
        router.choose("prompt", "gemini")


def test_defaults_with_both_services(imagekit: ImageKitFake, gemini: GeminiFake) -> None:
    assert _names("remove-bg") == ["local", "imagekit"]
    assert _names("erase") == ["local", "gemini"]
    assert _names("expand") == ["local", "imagekit", "gemini"]
    assert _names("prompt") == ["local", "gemini", "imagekit"]
    assert router.choose("upscale").name == "local"
    assert router.choose("upscale", "imagekit").name == "imagekit"


def test_generative_requests_go_to_a_generative_provider_first(imagekit: ImageKitFake, gemini: GeminiFake) -> None:
    # The interpreter can brighten locally; a hat needs a generative model.
    assert router.choose("prompt", params={"prompt": "make it brighter"}).name == "local"
    assert router.choose("prompt", params={"prompt": "put a party hat on the astronaut"}).name == "gemini"
    assert router.choose("change-bg", params={"background": "color", "color": "#ffffff", "mode": "pro"}).name == "local"
    assert router.choose("change-bg", params={"background": "prompt", "prompt": "a beach"}).name == "gemini"
    assert router.choose("expand", params={"ratio": "16:9"}).name == "local"
    assert router.choose("expand", params={"ratio": "16:9", "prompt": "more sky"}).name == "imagekit"


def test_preference_setting_overrides(
    imagekit: ImageKitFake, gemini: GeminiFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVIDER_PREFERENCE", "remove-bg=imagekit,local; prompt=imagekit,gemini")
    reset_settings()
    router.reset_providers()
    assert _names("remove-bg") == ["imagekit", "local"]
    assert router.choose("prompt", params={"prompt": "add a hat"}).name == "imagekit"
    assert _names("upscale") == ["local", "imagekit"]


async def test_local_hands_generative_requests_to_gemini(gemini: GeminiFake) -> None:
    local = router.choose("prompt")
    assert local.name == "local"
    result = await local.run(make_request("prompt", photo(), {"prompt": "add a hat"}))
    assert result.extras["provider"] == "gemini" and result.extras["handed_off_from"] == "local"
    assert len(gemini.requests) == 1


async def test_without_generative_provider_the_local_error_stands() -> None:
    with pytest.raises(NeedsGenerativeProvider):
        await router.choose("prompt").run(make_request("prompt", photo(), {"prompt": "add a hat"}))
