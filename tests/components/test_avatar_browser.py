"""The account button in real Chromium at 1440 px and 390 px: a picture that fails to load (Google
avatars do, e.g. when blocked) leaves the initials, never an invisible button.

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/components/test_avatar_browser.py
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import update

from db.models import User
from db.session import dispose_engine, session_scope
from tests.app_server import CHROMIUM_ARGS, failure_screenshot, serve_app
from tests.pages.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "avatar"
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
BROKEN = "http://127.0.0.1:9/no-such-avatar.png"  # nothing listens on port 9: the load fails at once


def _red_square() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (220, 30, 30)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def _user_with_avatar(email: str, avatar_url: str) -> None:
    await make_user(email)
    async with session_scope() as session:
        await session.execute(
            update(User).where(User.email == email).values(avatar_url=avatar_url, name="Grace Hopper")
        )
    await dispose_engine()


@pytest.fixture
def app_url(isolated_env: Path) -> Iterator[str]:
    asyncio.run(_user_with_avatar("broken@example.com", BROKEN))
    asyncio.run(_user_with_avatar("working@example.com", _red_square()))
    with serve_app(isolated_env) as url:
        yield url


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_account_button_falls_back_to_initials(app_url: str, viewport: str) -> None:
    shots = ARTIFACTS / viewport
    shots.mkdir(parents=True, exist_ok=True)
    width, height = VIEWPORTS[viewport]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for email, picture_loads in (("broken@example.com", False), ("working@example.com", True)):
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.set_default_timeout(30_000)
                with failure_screenshot(page, shots / "failure.png"):
                    page.goto(f"{app_url}/login?next=/billing")
                    page.get_by_label("Email").fill(email)
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("main").get_by_role("button", name="Sign in").click()
                    page.wait_for_url("**/billing")
                    button = page.locator('[data-testid="user-menu"]')
                    expect(button).to_be_visible()
                    box = button.bounding_box()
                    assert box is not None and box["width"] >= 28 and box["height"] >= 28
                    picture = page.locator('[data-testid="avatar-picture"]')
                    initials = page.locator('[data-testid="avatar-initials"]')
                    if picture_loads:
                        expect(picture).to_be_visible()
                        assert picture.evaluate("img => img.complete && img.naturalWidth") == 64
                    else:
                        expect(picture).to_have_count(0)  # removed itself when it failed to load
                        expect(initials).to_be_visible()
                        expect(initials).to_have_text("GH")
                    page.screenshot(path=str(shots / f"{email.split('@')[0]}.png"))
                    button.click()
                    expect(page.get_by_text("Sign out")).to_be_visible()
                context.close()
        finally:
            browser.close()
