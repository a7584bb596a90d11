"""The expand/crop frame in real Chromium at 1440 px and 390 px: drawn over the photo it previews,
never over the before/after comparison (whose "before" may have another size).

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/components/test_canvas_frame_browser.py
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
ARTIFACTS = REPO / "test-artifacts" / "canvas-frame"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_frame_is_not_drawn_over_the_comparison(app_url: str, tmp_path: Path, viewport: str) -> None:
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

        def tools_sheet(open_: bool) -> None:
            if phone and bool(page.locator(f"{tid('tools-panel')}.is-open").count()) != open_:
                page.click(tid("nav-tools"))
                expect(page.locator(f"{tid('tools-panel')}.is-open")).to_have_count(1 if open_ else 0)

        def choose_aspect(label: str) -> None:
            tools_sheet(True)
            page.click(tid("param-expand-aspect"))
            page.get_by_role("option", name=label, exact=True).click()
            tools_sheet(False)

        with failure_screenshot(page, shots / "failure.png"):
            sign_in_with_photo(page, app_url, photo, phone=phone)
            tools_sheet(True)
            page.locator(f"{tid('tool-expand')} .q-item").first.click()
            choose_aspect("4:5")
            frame = page.locator(tid("canvas-frame"))
            expect(frame).to_have_count(1)
            tools_sheet(True)
            page.click(tid("apply-expand"))
            expect(page.locator(tid("version-1"))).to_be_attached(timeout=120_000)
            tools_sheet(False)
            expect(frame).to_have_count(0)  # the result already is 4:5: nothing left to add
            choose_aspect("1:1")
            expect(frame).to_have_count(1)
            page.screenshot(path=str(shots / "frame.png"))
            page.click(tid("nav-compare") if phone else tid("compare-toggle"))
            expect(page.locator(tid("compare-handle"))).to_be_visible()
            expect(frame).to_have_count(0)
            page.screenshot(path=str(shots / "comparing.png"))
            page.click(tid("nav-compare") if phone else tid("compare-toggle"))
            expect(frame).to_have_count(1)
        browser.close()
