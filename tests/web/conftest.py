"""Fixtures of the security tests: the fake Stripe API, users with passwords and the test tool registry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from pixora_ui.engine.tools.basic import TOOLS
from pixora_ui.engine.tools.registry import ToolRegistry
from pixora_ui.workers import runner
from tests.billing.conftest import fake_stripe
from tests.providers.conftest import gemini  # the fake Gemini endpoint, with the real SDK pointed at it
from tests.services.conftest import build_test_registry, installed_registry

__all__ = ["fake_stripe", "gemini"]


@pytest.fixture
def test_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    yield from installed_registry(monkeypatch, build_test_registry())


@pytest.fixture
def basic_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    """The test tools plus the real basic tools (crop, resize, format, …)."""
    registry = build_test_registry()
    for tool in TOOLS:
        registry.add(tool)
    yield from installed_registry(monkeypatch, registry)


@pytest.fixture
async def running_runner() -> AsyncIterator[None]:
    """The job runner (ask for a registry fixture before this one)."""
    await runner.start()
    yield
    await runner.stop()
