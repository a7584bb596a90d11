"""The studio during a multi-photo selection in real Chromium at 1440 px and 390 px (issue #18): the
Apply buttons and the prompt box say what a run on every selected photo costs, a sentence typed in the
prompt box runs on the selection through the same cost dialog as a tool, and the version strip's
times are in the browser's own time zone.

Screenshots go to test-artifacts/selection/<viewport>/.

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/components/test_selection_browser.py
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from skimage import data

from tests.app_server import CHROMIUM_ARGS, failure_screenshot
from tests.components.conftest import VIEWPORTS, tid
from tests.pages.conftest import PASSWORD

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "selection"
SAMPLES = ("astronaut", "coffee", "chelsea")
# Kathmandu is UTC+05:45: no UTC time of day reads the same there.
ZONE = "Asia/Kathmandu"
SLID_IN_JS = "(s) => { const e = document.querySelector(s); return !!e && getComputedStyle(e).transform === 'none'; }"


def _samples(folder: Path) -> list[str]:
    paths = []
    for name in SAMPLES:
        path = folder / f"{name}.png"
        Image.fromarray(getattr(data, name)()).resize((160, 120)).save(path)
        paths.append(str(path))
    return paths


class Studio:
    """The signed-in Pro user's studio with three photos, and the steps the test takes."""

    def __init__(self, page: Any, app_url: str, folder: Path, *, phone: bool) -> None:
        self.page = page
        self.phone = phone
        page.goto(f"{app_url}/login?next=/studio")
        page.get_by_label("Email").fill("pro@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("main").get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Start with a photo")).to_be_visible()  # loaded (a phone's photos sheet opens)
        self.sheet("photos")
        page.locator(".pixora-upload input[type=file]").set_input_files(_samples(folder))
        for index in range(len(SAMPLES)):
            expect(page.locator(tid(f"photo-{index}"))).to_be_attached()
        expect(page.locator(tid("version-0"))).to_be_attached()

    def sheet(self, which: str) -> None:
        """On a phone, slide in the photos or the tools (the other one slides out)."""
        if not self.phone:
            return
        panel = {"photos": "library-panel", "tools": "tools-panel"}[which]
        if not self.page.locator(f"{tid(panel)}.is-open").count():
            self.page.locator(tid(f"nav-{which}")).tap()
        expect(self.page.locator(f"{tid(panel)}.is-open")).to_have_count(1)
        self.page.wait_for_function(SLID_IN_JS, arg=tid(panel), polling=100)

    def press(self, selector: str) -> None:
        target = self.page.locator(selector).first
        target.tap() if self.phone else target.click()

    def open_tool(self, tool: str) -> None:
        self.sheet("tools")
        if self.page.locator(tid(f"apply-{tool}")).is_hidden():
            self.press(f"{tid(f'tool-{tool}')} .q-item")
        expect(self.page.locator(tid(f"apply-{tool}"))).to_be_visible()

    def select_all(self) -> None:
        self.sheet("photos")
        self.press(tid("select-toggle"))
        self.press(tid("select-all"))
        expect(self.page.locator(tid("selection-count"))).to_have_text(f"{len(SAMPLES)} selected")

    def apply_text(self, tool: str) -> Any:
        return expect(self.page.locator(tid(f"apply-{tool}")))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_selection_costs_and_a_described_edit_on_every_photo(app_url: str, tmp_path: Path, viewport: str) -> None:
    expect.set_options(timeout=30_000)  # a shared 2-core machine is slow at times
    shots = ARTIFACTS / viewport
    shots.mkdir(parents=True, exist_ok=True)
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": width, "height": height}, has_touch=phone, timezone_id=ZONE, locale="en-GB"
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        with failure_screenshot(page, shots / "failure.png"):
            studio = Studio(page, app_url, tmp_path, phone=phone)
            _times_are_in_the_browsers_zone(page)

            # One photo: the single-photo words.
            studio.open_tool("remove-bg")
            studio.apply_text("remove-bg").to_have_text(re.compile(r"Apply · 1 AI edit$"))
            expect(page.locator(tid("prompt-target"))).to_be_hidden()

            # Three selected: what a run on all of them costs, in the buttons and the prompt box.
            studio.select_all()
            studio.sheet("tools")
            studio.apply_text("remove-bg").to_have_text(re.compile(r"Apply · 3 AI edits$"))
            target = page.locator(tid("prompt-target"))
            expect(target).to_have_text("Edits the 3 selected photos · 3 AI edits")
            page.screenshot(path=str(shots / "selection-costs.png"))
            studio.open_tool("flip")  # a free tool whose card is first built during the selection
            studio.apply_text("flip").to_have_text(re.compile(r"Apply · Free$"))
            page.locator(tid("apply-flip")).scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "selection-free.png"))
            if not phone:  # (opening the eraser slides a phone's tools away to paint on the photo)
                studio.open_tool("erase")  # a painted mask is for one photo: it keeps the open photo's words
                studio.apply_text("erase").to_have_text(re.compile(r"Apply · 1 AI edit$"))
                studio.press(f"{tid('tool-erase')} .q-item")
                expect(page.locator(tid("apply-erase"))).to_be_hidden()

            # A sentence in the prompt box runs on every selected photo, after the cost dialog.
            target.scroll_into_view_if_needed()
            prompt = page.locator(f"input{tid('prompt')}, {tid('prompt')} input").first
            prompt.fill("Black and white")
            prompt.press("Enter")
            expect(page.locator(tid("batch-confirm"))).to_be_visible()
            expect(page.locator(tid("batch-confirm"))).to_contain_text("Describe an edit on 3 photos")
            # An AI edit on an unlimited plan: it needs no credits, but it is no free tool either.
            expect(page.locator(tid("batch-confirm"))).not_to_contain_text("not an AI edit")
            page.screenshot(path=str(shots / "prompt-confirm.png"))
            studio.press(tid("batch-start"))
            expect(page.locator(tid("batch-confirm"))).to_be_hidden()
            expect(page.locator('[data-testid^="batch-item-"]')).to_have_count(len(SAMPLES))

            # The selection is over: the open photo's words again.
            expect(target).to_be_hidden()
            studio.apply_text("remove-bg").to_have_text(re.compile(r"Apply · 1 AI edit$"))
            studio.apply_text("flip").to_have_text(re.compile(r"Apply$"))
            expect(page.locator(tid("batch-summary"))).to_contain_text("3 photos edited", timeout=180_000)
            tiles = page.locator('[data-testid^="batch-item-"]')
            assert [tiles.nth(i).get_attribute("data-status") for i in range(3)] == ["succeeded"] * 3
        browser.close()


def _times_are_in_the_browsers_zone(page: Any) -> None:
    """The original's thumbnail says when it was uploaded in Kathmandu's time, without "UTC"."""
    thumb = page.locator(tid("version-0"))
    expect(thumb).not_to_have_attribute("title", re.compile("UTC"))  # the browser answered
    title = thumb.get_attribute("title") or ""
    shown = re.search(r" · (?:\d+ \w+ )?(\d\d:\d\d): click", title)
    assert shown is not None, title
    now = datetime.now(ZoneInfo(ZONE))
    lately = {f"{now - timedelta(minutes=m):%H:%M}" for m in range(-1, 10)}  # uploaded in the last minutes
    assert shown[1] in lately, (title, sorted(lately))
