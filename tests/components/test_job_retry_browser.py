"""A failed edit in real Chromium at 1440 px and 390 px (issue #18, item 3): an edit that would fail
the same way again (smart crop to the ratio the photo already has) says what to change and offers
no "Try again"; the credit comes back. The retryable side is in tests/pages/test_job_retry.py.

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/components/test_job_retry_browser.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from skimage import data

from tests.app_server import CHROMIUM_ARGS, failure_screenshot
from tests.components.conftest import VIEWPORTS, sign_in_with_photo, tid

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "job-retry"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_failure_that_would_repeat_offers_no_try_again(app_url: str, tmp_path: Path, viewport: str) -> None:
    shots = ARTIFACTS / viewport
    shots.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "square.png"
    Image.fromarray(data.astronaut()).resize((256, 256)).save(photo)  # already 1:1, smart crop's default
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        page.set_default_timeout(30_000)
        with failure_screenshot(page, shots / "failure.png"):
            sign_in_with_photo(page, app_url, photo, phone=phone)
            if phone:
                page.click(tid("nav-tools"))
                expect(page.locator(f"{tid('tools-panel')}.is-open")).to_have_count(1)
            page.locator(f"{tid('tool-smart-crop')} .q-item").first.click()
            page.click(tid("apply-smart-crop"))
            panel = page.locator(tid("job-panel"))
            expect(panel.locator(tid("job-title"))).to_have_text("Smart crop failed", timeout=120_000)
            expect(panel.locator(tid("job-detail"))).to_contain_text("would not change the photo")
            expect(panel.locator(tid("job-hint"))).to_be_visible()
            expect(panel.locator(tid("job-retry"))).to_be_hidden()
            page.screenshot(path=str(shots / "failed.png"))
            expect(page.locator(tid("version-1"))).to_have_count(0)  # nothing was added
        browser.close()
