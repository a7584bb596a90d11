"""The studio journey in real headless Chromium (Debian's chromium through Playwright's Python API).

sign up → upload → remove background → compare slider moves → download (PNG with alpha) → undo →
magic erase with a painted stroke → use the remaining credit → the upgrade dialog at the limit.
A screenshot of each step goes to test-artifacts/studio/<viewport>/.

Run with: .venv/bin/pytest -p no:nicegui -m browser tests/pages/test_studio_browser.py
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from skimage import data

from tests.app_server import CHROMIUM_ARGS, failure_screenshot, mailed_link, serve_app

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "studio"
CHROMIUM = "/usr/bin/chromium"
FREE_EDITS = 3
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = {
        "MODELS_DIR": str(REPO / "data" / "models"),
        "FREE_EDIT_LIMIT": str(FREE_EDITS),
        "APP_ENV": "test",
        "BCRYPT_ROUNDS": "4",
        "LOG_JSON": "false",
        "SESSION_SECRET": "browser-test-" + "x" * 40,
    }
    # STUDIO_SERVER_SCRIPT lets a developer point the test at a wrapper of main.py.
    script = Path(os.environ.get("STUDIO_SERVER_SCRIPT", str(REPO / "main.py")))
    with serve_app(tmp_path / "data", env, cwd=tmp_path, script=script, log_path=tmp_path / "server.log") as url:
        yield url


def _sample(tmp_path: Path) -> Path:
    path = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_studio_journey(server: str, tmp_path: Path, viewport: str) -> None:
    expect.set_options(timeout=20_000)  # a shared 2-core machine is slow at times
    shots = ARTIFACTS / viewport
    shots.mkdir(parents=True, exist_ok=True)
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    photo = _sample(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        page = context.new_page()
        with failure_screenshot(page, shots / "failure.png"):
            page.set_default_timeout(30_000)

            def shot(name: str) -> None:
                page.wait_for_timeout(350)
                page.screenshot(path=str(shots / f"{name}.png"))

            def tid(name: str) -> str:
                return f'[data-testid="{name}"]'

            def open_sheet(which: str) -> None:
                panel = {"photos": "library-panel", "tools": "tools-panel"}[which]
                if phone and not page.locator(f"{tid(panel)}.is-open").count():
                    page.click(tid(f"nav-{which}"))
                    expect(page.locator(f"{tid(panel)}.is-open")).to_have_count(1)
                    page.wait_for_timeout(300)  # the slide-in (0.22 s)

            def close_sheets() -> None:
                for which, panel in (("photos", "library-panel"), ("tools", "tools-panel")):
                    if phone and page.locator(f"{tid(panel)}.is-open").count():
                        page.click(tid(f"nav-{which}"))
                        # The server takes the class off; then the sheet slides out (0.22 s).
                        expect(page.locator(f"{tid(panel)}.is-open")).to_have_count(0)
                        page.wait_for_timeout(300)

            def open_tool(tool: str) -> None:
                open_sheet("tools")
                if page.locator(tid("apply-" + tool)).is_hidden():
                    page.locator(f"{tid('tool-' + tool)} .q-item").first.click()
                expect(page.locator(tid("apply-" + tool))).to_be_visible()

            def apply(tool: str) -> None:
                open_tool(tool)
                page.click(tid("apply-" + tool))

            # 1. Sign up.
            page.goto(f"{server}/signup?next=/studio")
            page.fill('[data-testid="name"] input, input[aria-label="Name"]', "Ada")
            page.get_by_label("Email").fill("ada@example.com")
            page.get_by_label("Password", exact=False).first.fill("correct horse battery")
            shot("01-signup")
            page.get_by_role("button", name="Create account").click()
            # The mailed link confirms the address (free AI edits start) and signs in.
            expect(page.get_by_text("Check your inbox")).to_be_visible()
            page.goto(server + mailed_link(tmp_path / "data"))
            page.wait_for_url(re.compile(r".*/studio$"))
            started = time.monotonic()
            expect(page.locator(tid("studio"))).to_be_visible()
            expect(page.get_by_text("Start with a photo")).to_be_visible()
            usable_s = time.monotonic() - started
            shot("02-studio-empty")

            # 2. Upload the sample photo.
            open_sheet("photos")
            page.locator(".pixora-upload input[type=file]").set_input_files(str(photo))
            after = page.locator('[data-testid="canvas-after"]')
            expect(after).to_be_visible()
            page.wait_for_function(
                "() => { const i = document.querySelector('[data-testid=canvas-after]'); "
                "return i && i.complete && i.naturalWidth > 0; }"
            )
            expect(page.get_by_text(f"{FREE_EDITS} of {FREE_EDITS} free edits left").first).to_be_attached()
            shot("03-uploaded")
            # The asset's path: the query (a signature whose expiry moves in 5-minute steps) may change.
            original = (after.get_attribute("src") or "").split("?")[0]

            # 3. Remove the background.
            open_tool("remove-bg")
            shot("03b-tools")
            page.click(tid("apply-remove-bg"))
            expect(page.locator(tid("job-panel"))).to_be_visible()
            expect(page.locator(tid("version-1"))).to_be_attached(timeout=120_000)
            expect(page.locator(tid("job-title"))).to_contain_text("done")
            page.wait_for_function(
                "() => { const i = document.querySelector('[data-testid=canvas-after]'); "
                "return i && i.complete && i.naturalWidth > 0; }"
            )
            assert (after.get_attribute("src") or "").split("?")[0] != original
            shot("04-background-removed")

            # 4. The compare slider moves.
            close_sheets()
            if phone:
                page.click(tid("nav-compare"))
            else:
                page.click(tid("compare-toggle"))
            handle = page.locator(tid("compare-handle"))
            expect(handle).to_be_visible()
            before_split = float(handle.get_attribute("data-split") or 0)
            box = handle.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] - 80, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            after_split = float(handle.get_attribute("data-split") or 0)
            assert after_split < before_split - 0.05, (before_split, after_split)
            shot("05-compare")
            if phone:
                page.click(tid("nav-compare"))
            else:
                page.click(tid("compare-toggle"))

            # 5. Download: a PNG with alpha, named after what was done.
            page.click(tid("nav-download") if phone else tid("download"))
            expect(page.locator(tid("download-name"))).to_contain_text("astronaut-remove-bg.png")
            shot("06-download-dialog")
            with page.expect_download() as info:
                page.click(tid("download-go"))
            download = info.value
            assert download.suggested_filename == "astronaut-remove-bg.png"
            saved = tmp_path / "download.png"
            download.save_as(saved)
            image = Image.open(io.BytesIO(saved.read_bytes()))
            assert image.format == "PNG" and image.mode == "RGBA"
            assert image.getchannel("A").getextrema()[0] == 0  # some pixels are transparent

            # 6. Undo goes back to the original.
            close_sheets()
            page.locator(tid("canvas")).click(position={"x": 5, "y": 5})
            page.keyboard.press("Control+z")
            expect(after).to_have_attribute("src", re.compile(re.escape(original) + r"(\?|$)"))
            shot("07-undo")

            # 7. Magic erase with a painted stroke.
            open_tool("erase")
            expect(page.locator(tid("erase-panel"))).to_be_visible()
            close_sheets()
            # The canvas switches to the brush when the server's prop update arrives: a stroke begun
            # before that is a pan (seen on a loaded CI machine).
            expect(page.locator(".pixora-canvas.is-painting")).to_be_attached()
            canvas_box = page.locator(tid("canvas")).bounding_box()
            assert canvas_box is not None
            cx, cy = canvas_box["x"] + canvas_box["width"] / 2, canvas_box["y"] + canvas_box["height"] / 2
            page.mouse.move(cx - 40, cy - 30)
            page.mouse.down()
            page.mouse.move(cx + 40, cy + 10, steps=12)
            page.mouse.up()
            shot("08-mask-painted")
            expect(page.locator(tid("mask-status"))).to_contain_text("1 stroke")
            page.click(tid("erase-apply"))
            expect(page.locator(tid("version-2"))).to_be_attached(timeout=120_000)
            shot("09-erased")

            # 8. Use the remaining credit, then the next AI edit opens the upgrade dialog.
            apply("remove-bg")
            expect(page.locator(tid("version-3"))).to_be_attached(timeout=120_000)
            expect(page.get_by_text(f"0 of {FREE_EDITS} free edits left").first).to_be_attached()
            shot("10-credits-used")
            apply("remove-bg")
            expect(page.get_by_text("Upgrade to Pro").first).to_be_visible()
            shot("11-upgrade-dialog")
            (shots / "timings.txt").write_text(f"studio usable after sign-up redirect: {usable_s:.2f} s\n")
        browser.close()


def test_paste_adds_a_photo_and_a_wrong_file_gets_an_inline_error(server: str, tmp_path: Path) -> None:
    expect.set_options(timeout=20_000)
    shots = ARTIFACTS / "desktop"
    shots.mkdir(parents=True, exist_ok=True)
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_bytes(b"this is text, whatever the name says")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        with failure_screenshot(page, shots / "failure-paste.png"):
            page.goto(f"{server}/signup?next=/studio")
            page.get_by_label("Name").fill("Bea")
            page.get_by_label("Email").fill("bea@example.com")
            page.get_by_label("Password", exact=False).first.fill("correct horse battery")
            page.get_by_role("button", name="Create account").click()
            expect(page.get_by_text("Check your inbox")).to_be_visible()
            page.goto(server + mailed_link(tmp_path / "data"))
            page.wait_for_url(re.compile(r".*/studio$"))
            expect(page.get_by_text("Start with a photo")).to_be_visible()
            # A file that is not an image (checked by content, not by name): an inline error, no photo.
            page.locator(".pixora-upload input[type=file]").set_input_files(str(not_an_image))
            expect(page.locator('[data-testid="upload-error"]')).to_contain_text("notes.png")
            # Paste an image from the clipboard (once the upload zone's paste listener is installed).
            page.wait_for_function("() => window.pixoraPaste === true")
            page.evaluate(
                """async () => {
                  const canvas = document.createElement('canvas');
                  canvas.width = 320; canvas.height = 200;
                  const ctx = canvas.getContext('2d');
                  ctx.fillStyle = '#6d5efc'; ctx.fillRect(0, 0, 320, 200);
                  ctx.fillStyle = '#fbbf24'; ctx.beginPath(); ctx.arc(160, 100, 60, 0, 7); ctx.fill();
                  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
                  const data = new DataTransfer();
                  data.items.add(new File([blob], 'pasted.png', {type: 'image/png'}));
                  document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
                }"""
            )
            expect(page.locator('[data-testid="photo-0"]')).to_contain_text("pasted.png")
            page.wait_for_function(
                "() => { const i = document.querySelector('[data-testid=canvas-after]');"
                " return i && i.complete && i.naturalWidth === 320; }"
            )
            page.screenshot(path=str(shots / "12-pasted-and-wrong-file.png"))
        browser.close()
