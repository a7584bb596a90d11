"""Change background in real Chromium at 1440 px and 390 px: the chosen mode's fields only.

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/components/test_palette_browser.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from skimage import data

from tests.app_server import CHROMIUM_ARGS, failure_screenshot
from tests.components.conftest import VIEWPORTS, tid
from tests.pages.conftest import PASSWORD

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "palette"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_change_background_shows_the_chosen_modes_fields(app_url: str, tmp_path: Path, viewport: str) -> None:
    shots = ARTIFACTS / viewport
    shots.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).resize((256, 256)).save(photo)
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        page.set_default_timeout(30_000)
        with failure_screenshot(page, shots / "failure.png"):
            page.goto(f"{app_url}/login?next=/studio")
            page.get_by_label("Email").fill("pro@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("main").get_by_role("button", name="Sign in").click()
            expect(page.locator(tid("studio"))).to_be_visible()
            if phone:
                page.click(tid("nav-photos"))
            page.locator(".pixora-upload input[type=file]").set_input_files(str(photo))
            expect(page.locator(tid("version-0"))).to_be_attached()
            if phone:
                if page.locator(f"{tid('library-panel')}.is-open").count():
                    page.click(tid("nav-photos"))
                page.click(tid("nav-tools"))
                expect(page.locator(f"{tid('tools-panel')}.is-open")).to_have_count(1)
            page.locator(f"{tid('tool-change-bg')} .q-item").first.click()
            mode = page.locator(tid("param-change-bg-background"))
            expect(mode).to_be_visible()
            expect(page.locator(tid("param-change-bg-color"))).to_be_visible()
            for hidden in ("blur", "color2", "angle", "image", "fit", "prompt"):
                expect(page.locator(tid(f"param-change-bg-{hidden}"))).to_be_hidden()
            expect(page.get_by_text("Runs on Pixora engine")).to_be_visible()
            page.locator(tid("tool-change-bg")).screenshot(path=str(shots / "colour.png"))
            mode.click()
            page.get_by_role("option", name="Blur (portrait mode)").click()
            expect(page.locator(tid("param-change-bg-blur"))).to_be_visible()
            expect(page.locator(tid("param-change-bg-color"))).to_be_hidden()
            page.locator(tid("tool-change-bg")).screenshot(path=str(shots / "blur.png"))
        browser.close()
