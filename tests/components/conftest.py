"""Shared by the components' Chromium tests: a served app with a Pro user, the two window sizes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.models import PLAN_PRO
from db.session import dispose_engine
from tests.app_server import serve_app
from tests.pages.conftest import make_user

VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}


async def _pro_user() -> None:
    await make_user("pro@example.com", plan=PLAN_PRO)
    await dispose_engine()


@pytest.fixture
def app_url(isolated_env: Path) -> Iterator[str]:
    """The app served with one Pro account, pro@example.com."""
    asyncio.run(_pro_user())
    with serve_app(isolated_env) as url:
        yield url


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'
