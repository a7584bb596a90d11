"""Fixtures of the security tests: the fake Stripe API, users with passwords and the test tool registry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from pixora_ui.engine.registry import ToolRegistry
from pixora_ui.providers import router
from pixora_ui.providers.gemini import GeminiProvider
from pixora_ui.settings import reset_settings
from tests.billing.conftest import fake_stripe
from tests.fakes import gemini_fake
from tests.fakes.gemini_fake import GeminiFake, run_gemini_fake
from tests.jobs.conftest import build_test_registry, installed_registry

__all__ = ["fake_stripe"]


@pytest.fixture
def test_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    yield from installed_registry(monkeypatch, build_test_registry())


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiFake]:
    """The fake Gemini endpoint, with the real SDK pointed at it."""
    with run_gemini_fake() as fake:
        monkeypatch.setenv("GEMINI_API_KEY", gemini_fake.API_KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
        monkeypatch.setattr(GeminiProvider, "retry_delays_s", (0.01, 0.02, 0.04))
        reset_settings()
        router.reset_providers()
        yield fake
    router.reset_providers()


@pytest.fixture
def basic_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    """The test tools plus the real basic tools (crop, resize, format, …)."""
    from pixora_ui.engine.tools_basic import TOOLS

    registry = build_test_registry()
    for tool in TOOLS:
        registry.add(tool)
    yield from installed_registry(monkeypatch, registry)


@pytest.fixture
async def running_runner() -> AsyncIterator[None]:
    """The job runner (ask for a registry fixture before this one)."""
    from pixora_ui.workers import runner

    await runner.start()
    yield
    await runner.stop()
