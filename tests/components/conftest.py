"""Shared by the components' Chromium tests: a served app with a Pro user, the two window sizes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from db.models import PLAN_PRO
from db.session import dispose_engine
from tests.app_server import serve_app
from tests.pages.conftest import PASSWORD, make_user

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


def sign_in_with_photo(page: Page, app_url: str, photo: Path, *, phone: bool) -> None:
    """pro@example.com signs in and uploads `photo`; on a phone the photos sheet is closed again."""
    page.goto(f"{app_url}/login?next=/studio")
    page.get_by_label("Email").fill("pro@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page.locator(tid("studio"))).to_be_visible()
    if phone:
        page.click(tid("nav-photos"))
    page.locator(".pixora-upload input[type=file]").set_input_files(str(photo))
    expect(page.locator(tid("version-0"))).to_be_attached()
    if phone and page.locator(f"{tid('library-panel')}.is-open").count():
        page.click(tid("nav-photos"))
