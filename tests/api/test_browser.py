"""API keys in real headless Chromium (Playwright) against `main.py serve`: sign up, create a key on
the profile page, copy it with the copy button, use it, revoke it, and the key stops working.

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/api/test_browser.py
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.app_server import CHROMIUM_ARGS, failure_screenshot, mailed_link, serve_app

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(isolated_env: Path) -> Iterator[str]:
    with serve_app(isolated_env) as url:
        yield url


def test_create_copy_use_and_revoke_an_api_key(app_url: str, isolated_env: Path, tmp_path: Path) -> None:
    expect.set_options(timeout=20_000)  # a shared 2-core machine is slow at times
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
            page = context.new_page()
            page.set_default_timeout(30_000)
            with failure_screenshot(page, tmp_path / "failure.png"):
                page.goto(f"{app_url}/signup?next=/profile")
                page.get_by_label("Name").fill("Ada Lovelace")
                page.get_by_label("Email").fill("ada@example.com")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Create account").click()
                # The mailed link confirms the address and signs in; then the profile's Developer section.
                expect(page.get_by_text("Check your inbox")).to_be_visible()
                page.goto(app_url + mailed_link(isolated_env))
                page.wait_for_url("**/studio**")
                page.goto(f"{app_url}/profile")
                expect(page.get_by_text("No API keys yet.")).to_be_visible()

                page.get_by_label("Key name").fill("Shop website")
                page.locator('[data-testid="create-api-key"]').click()
                expect(page.get_by_text("Copy your new key now: it will not be shown again.")).to_be_visible()
                shown = page.locator('input[data-testid="new-api-key"], [data-testid="new-api-key"] input')
                expect(shown).to_have_value(re.compile(r"^pix_live_[A-Za-z0-9_-]{43}$"))
                secret = shown.input_value()
                expect(page.get_by_text("Shop website")).to_be_visible()

                page.locator('[data-testid="copy-api-key"]').click()
                expect(page.get_by_text("Key copied")).to_be_visible()
                assert page.evaluate("navigator.clipboard.readText()") == secret

                usage = httpx.get(f"{app_url}/api/v1/usage", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
                assert usage.status_code == 200 and usage.json()["plan"] == "free"

                # The key's row now says when it was used (after a reload), then revoke it.
                page.reload()
                expect(page.get_by_text("Shop website")).to_be_visible()
                expect(page.get_by_text("last used never")).to_have_count(0)
                expect(page.get_by_text("Copy your new key now")).to_be_hidden()  # shown once only
                assert secret not in page.content()
                page.locator('[data-testid^="revoke-api-key-"]').click()
                expect(page.get_by_text("Revoke “Shop website”?")).to_be_visible()
                page.locator('[data-testid="confirm-revoke-api-key"]').click()
                expect(page.get_by_text("No API keys yet.")).to_be_visible()
                gone = httpx.get(f"{app_url}/api/v1/usage", headers={"X-Api-Key": secret}, timeout=30)
                assert gone.status_code == 401 and gone.json()["error"]["code"] == "invalid_api_key"
        finally:
            browser.close()
