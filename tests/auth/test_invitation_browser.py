"""The invitation journeys in headless Chromium against `main.py serve`: open the mailed invitation,
sign up with a password and open the confirmation link, or continue with Google; either way the
person lands in the studio, told that they joined, and is in the team."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from db.models import PLAN_TEAM
from db.session import dispose_engine
from tests.app_server import CHROMIUM_ARGS, failure_screenshot, mailed_link, serve_app
from tests.auth.conftest import PASSWORD
from tests.auth.test_invitations import JOINED, invite, member
from tests.components.conftest import VIEWPORTS
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, fake_oidc

pytestmark = pytest.mark.browser


async def _invited(address: str, outbox: Path) -> None:
    await invite(address, outbox)
    await dispose_engine()


async def _member(address: str) -> tuple[str | None, str | None]:
    try:
        return await member(address)
    finally:
        await dispose_engine()


def _lands_in_the_studio_having_joined(page: Page) -> None:
    page.wait_for_url(re.compile(r".*/studio$"))
    expect(page.get_by_text(JOINED)).to_be_visible()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_invitation_then_sign_up_then_confirmation_link(isolated_env: Path, viewport: str) -> None:
    asyncio.run(_invited("newcomer@example.com", isolated_env / "outbox"))
    invitation = mailed_link(isolated_env, "/team/join")
    with serve_app(isolated_env) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            width, height = VIEWPORTS[viewport]
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(30_000)
            with failure_screenshot(page, isolated_env.parent / "invitation-sign-up.png"):
                page.goto(url + invitation)
                expect(page.get_by_text("Join Acme Studio")).to_be_visible()
                page.get_by_role("button", name="Create an account").click()
                expect(page.get_by_label("Email")).to_have_value("newcomer@example.com")
                page.get_by_label("Name").fill("Nora Newcomer")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Create account").click()
                expect(page.get_by_text("you join Acme Studio")).to_be_visible()
                page.goto(url + mailed_link(isolated_env))
                _lands_in_the_studio_having_joined(page)
        finally:
            browser.close()
    assert asyncio.run(_member("newcomer@example.com")) == (PLAN_TEAM, "Acme Studio")


def test_invitation_then_continue_with_google(isolated_env: Path) -> None:
    asyncio.run(_invited("grace@example.com", isolated_env / "outbox"))  # the fake provider's person
    invitation = mailed_link(isolated_env, "/team/join")
    with fake_oidc() as provider:
        google_env = {
            "GOOGLE_CLIENT_ID": CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "GOOGLE_DISCOVERY_URL": provider.discovery_url,
        }
        with serve_app(isolated_env, google_env) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(30_000)
                with failure_screenshot(page, isolated_env.parent / "invitation-google.png"):
                    page.goto(url + invitation)
                    page.get_by_role("button", name="Continue with Google").click()
                    _lands_in_the_studio_having_joined(page)
            finally:
                browser.close()
    assert asyncio.run(_member("grace@example.com")) == (PLAN_TEAM, "Acme Studio")
