"""The studio's keys and address in real headless Chromium (issue #18): Ctrl+Z acts on versions only
while no text field has focus, and never reverts the prompt's text.

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/pages/test_studio_keys_browser.py
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.app_server import CHROMIUM_ARGS, failure_screenshot, mailed_link
from tests.pages.test_studio_browser import ARTIFACTS, CHROMIUM, _sample, server  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


@contextmanager
def studio_page(base: str, tmp_path: Path, *, width: int = 1440, height: int = 900) -> Iterator[Any]:
    """A new account, signed in (through the mailed link), in the studio with the sample photo open."""
    expect.set_options(timeout=20_000)  # a shared 2-core machine is slow at times
    shots = ARTIFACTS / "keys"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        with failure_screenshot(page, shots / f"failure-{width}.png"):
            page.set_default_timeout(30_000)
            page.goto(f"{base}/signup?next=/studio")
            page.get_by_label("Name").fill("Ada")
            page.get_by_label("Email").fill("ada@example.com")
            page.get_by_label("Password", exact=False).first.fill("correct horse battery")
            page.get_by_role("button", name="Create account").click()
            expect(page.get_by_text("Check your inbox")).to_be_visible()
            page.goto(base + mailed_link(tmp_path / "data"))
            page.wait_for_url(re.compile(r".*/studio$"))
            expect(page.get_by_text("Start with a photo")).to_be_visible()
            if width < 1024:
                page.click(tid("nav-photos"))
            page.locator(".pixora-upload input[type=file]").set_input_files(str(_sample(tmp_path)))
            expect(page.locator(tid("version-0"))).to_be_attached()
            yield page
        browser.close()


def _path(src: str | None) -> str:
    """A media URL without its signature (re-signed URLs of one version differ in the query only)."""
    return (src or "").split("?")[0]


def test_ctrl_z_undoes_versions_never_the_prompt_text(server: str, tmp_path: Path) -> None:  # noqa: F811

    with studio_page(server, tmp_path) as page:
        after = page.locator(tid("canvas-after"))
        original = _path(after.get_attribute("src"))
        page.locator(f"{tid('tool-flip')} .q-item").first.click()
        page.click(tid("apply-flip"))
        expect(page.locator(tid("version-1"))).to_be_attached(timeout=60_000)
        flipped = _path(after.get_attribute("src"))
        assert flipped != original
        prompt = page.locator(f"input{tid('prompt')}, {tid('prompt')} input").first
        prompt.click()
        page.keyboard.type("make it warmer")  # real typing: the browser keeps it on its undo stack
        # Focus leaves the prompt (a click on the photo): Ctrl+Z is the studio's undo, and only that.
        page.locator(tid("canvas")).click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+z")
        expect(after).to_have_attribute("src", re.compile("^" + re.escape(original) + r"\?"))
        expect(prompt).to_have_value("make it warmer")
        assert page.evaluate("() => document.activeElement.tagName") != "INPUT"
        # Further presses are not swallowed: redo, then undo again.
        page.keyboard.press("Control+Shift+z")
        expect(after).to_have_attribute("src", re.compile("^" + re.escape(flipped) + r"\?"))
        page.keyboard.press("Control+z")
        expect(after).to_have_attribute("src", re.compile("^" + re.escape(original) + r"\?"))
        expect(prompt).to_have_value("make it warmer")
        # After a click on a button (it keeps the focus), Ctrl+Shift+Z still acts on versions.
        page.click(tid("zoom-fit"))
        page.keyboard.press("Control+Shift+z")
        expect(after).to_have_attribute("src", re.compile("^" + re.escape(flipped) + r"\?"))
        # In the prompt, Ctrl+Z is the text's own undo: the version on screen stays.
        prompt.click()
        page.keyboard.press("Control+z")
        expect(prompt).not_to_have_value("make it warmer")
        page.wait_for_timeout(500)  # a version change would arrive by now (a round trip on a quiet page)
        assert _path(after.get_attribute("src")) == flipped


@pytest.mark.parametrize("width", [1440, 390])
def test_the_address_follows_the_photo_and_a_reload_keeps_it(server: str, tmp_path: Path, width: int) -> None:  # noqa: F811

    with studio_page(server, tmp_path, width=width, height=900 if width > 1000 else 844) as page:
        after = page.locator(tid("canvas-after"))
        expect(page).to_have_url(re.compile(r"/studio/[0-9a-f]+\?v=[0-9a-f]+$"))
        photo, original = re.findall(r"/studio/([0-9a-f]+)\?v=([0-9a-f]+)$", page.url)[0]
        if width < 1024:
            page.click(tid("nav-tools"))
        page.locator(f"{tid('tool-flip')} .q-item").first.click()
        page.click(tid("apply-flip"))
        expect(page.locator(tid("version-1"))).to_be_attached(timeout=60_000)
        expect(page).not_to_have_url(re.compile(f"v={original}$"))
        flipped = _path(after.get_attribute("src"))
        assert page.url.endswith(f"/studio/{photo}?v={flipped.rsplit('/', 1)[1]}")
        page.click(tid("undo"))
        expect(page).to_have_url(re.compile(f"/studio/{photo}\\?v={original}$"))
        page.reload()  # the same photo and version as before the reload
        expect(page.locator(tid("version-1"))).to_be_attached()
        expect(after).to_have_attribute("src", re.compile(f"/media/{original}\\?"))
        page.screenshot(path=str(ARTIFACTS / "keys" / f"address-{width}.png"))
