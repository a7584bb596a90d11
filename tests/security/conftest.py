"""Fixtures of the security tests: the fake Stripe API, users with passwords and the test tool registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pixora_ui.engine.registry import ToolRegistry
from tests.billing.conftest import fake_stripe
from tests.jobs.conftest import build_test_registry, installed_registry

__all__ = ["fake_stripe"]


@pytest.fixture
def test_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolRegistry]:
    yield from installed_registry(monkeypatch, build_test_registry())
