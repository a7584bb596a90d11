"""Create and restyle in real headless Chromium: the style panel (filter previews, strength, apply)
without any AI provider, and with the Gemini fake: the AI restyle section and the Create dialog.

Screenshots go to test-artifacts/create/. Run with:
.venv/bin/pytest -p no:nicegui -m browser tests/pages/test_create_browser.py
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright
from skimage import data

from tests.app_server import CHROMIUM_ARGS, failure_screenshot, mailed_link, serve_app
from tests.fakes import gemini_fake

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "create"
CHROMIUM = "/usr/bin/chromium"
ENV = {
    "MODELS_DIR": str(REPO / "data" / "models"),
    "FREE_EDIT_LIMIT": "5",
    "APP_ENV": "test",
    "BCRYPT_ROUNDS": "4",
    "LOG_JSON": "false",
    "SESSION_SECRET": "browser-test-" + "x" * 40,
}


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[str]:
    with serve_app(tmp_path / "data", ENV, cwd=tmp_path, log_path=tmp_path / "server.log") as url:
        yield url


@pytest.fixture
def gemini_server(tmp_path: Path) -> Iterator[tuple[str, gemini_fake.GeminiFake]]:
    with gemini_fake.run_gemini_fake() as fake:
        env = {**ENV, "GEMINI_API_KEY": gemini_fake.API_KEY, "GEMINI_BASE_URL": fake.base_url}
        with serve_app(tmp_path / "data", env, cwd=tmp_path, log_path=tmp_path / "server.log") as url:
            yield url, fake


def _sign_up_and_upload(page: object, server: str, photo: Path, email: str, data_dir: Path) -> None:
    assert isinstance(page, Page)
    page.goto(f"{server}/signup?next=/studio")
    page.get_by_label("Name").fill("Cleo")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=False).first.fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    # The mailed link confirms the address (the free AI edits start) and signs in.
    expect(page.get_by_text("Check your inbox")).to_be_visible()
    page.goto(server + mailed_link(data_dir))
    page.wait_for_url("**/studio**")
    expect(page.get_by_text("Start with a photo")).to_be_visible()
    page.locator(".pixora-upload input[type=file]").set_input_files(str(photo))
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=canvas-after]'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )


def _open_style(page: object) -> None:
    assert isinstance(page, Page)
    page.locator(f"{tid('tool-style')} .q-item").first.click()
    expect(page.locator(tid("style-panel"))).to_be_visible()
    # Every filter's preview was rendered on the photo by the server and loaded.
    page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('[data-testid=style-panel] img.thumb')];"
        " return t.length === 9 && t.every(i => i.complete && i.naturalWidth > 0); }",
        timeout=60_000,
    )


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(path)
    return path


def test_style_filters_without_a_provider(plain_server: str, tmp_path: Path) -> None:
    expect.set_options(timeout=20_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        with failure_screenshot(page, ARTIFACTS / "failure-plain.png"):
            _sign_up_and_upload(page, plain_server, _photo(tmp_path), "cleo@example.com", tmp_path / "data")
            # No generative provider: no Create entry, and the style panel shows only the filters.
            expect(page.locator(tid("create-open"))).to_have_count(0)
            _open_style(page)
            expect(page.locator(tid("style-prompt"))).to_have_count(0)
            expect(page.locator(tid("tool-reason-style"))).to_have_count(0)
            panel_text = page.locator(tid("style-panel")).inner_text()
            assert "Gemini" not in panel_text and "api key" not in panel_text.lower() and "AI" not in panel_text
            page.click(tid("style-cartoon"))
            expect(page.locator(f"{tid('style-cartoon')}.is-chosen")).to_have_count(1)
            page.screenshot(path=str(ARTIFACTS / "style-panel-1440.png"))
            page.click(tid("apply-style"))
            expect(page.locator(tid("version-1"))).to_be_attached(timeout=120_000)
            expect(page.locator(tid("photo-title"))).to_contain_text("Cartoon")  # the version label names the style
            # The free filter did not spend an AI edit.
            expect(page.get_by_text("5 of 5 free edits left").first).to_be_attached()
            page.screenshot(path=str(ARTIFACTS / "style-applied-1440.png"))
        browser.close()


def test_create_and_ai_restyle_with_gemini(gemini_server: tuple[str, gemini_fake.GeminiFake], tmp_path: Path) -> None:
    server, fake = gemini_server
    expect.set_options(timeout=20_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        with failure_screenshot(page, ARTIFACTS / "failure-gemini.png"):
            _sign_up_and_upload(page, server, _photo(tmp_path), "dora@example.com", tmp_path / "data")
            # The style panel offers the AI restyle next to the filters.
            _open_style(page)
            expect(page.locator(tid("style-prompt"))).to_be_visible()
            page.locator(f"{tid('style-prompt')} input, input{tid('style-prompt')}").fill("as a 1950s travel poster")
            page.screenshot(path=str(ARTIFACTS / "style-panel-ai-1440.png"))
            page.click(tid("apply-restyle"))
            expect(page.locator(tid("version-1"))).to_be_attached(timeout=120_000)
            expect(page.get_by_text("4 of 5 free edits left").first).to_be_attached()
            assert any("1950s travel poster" in str(r["body"]) for r in fake.requests)
            # Create: two wide pictures from a description, each a new photo in the library.
            page.click(tid("create-open"))
            expect(page.locator(tid("create-dialog"))).to_be_visible()
            page.locator(f"{tid('create-prompt')} textarea, textarea{tid('create-prompt')}").fill(
                "a red bicycle on a beach"
            )
            page.locator(tid("create-aspect")).get_by_text("Wide").click()
            page.locator(tid("create-count")).get_by_text("2", exact=True).click()
            expect(page.locator(tid("create-go"))).to_contain_text("2 AI edits")
            page.screenshot(path=str(ARTIFACTS / "create-dialog-1440.png"))
            page.click(tid("create-go"))
            expect(page.get_by_text("3 photos")).to_be_visible(timeout=120_000)
            expect(page.locator(tid("photo-0"))).to_contain_text("Created from: a red bicycle on a beach")
            expect(page.locator(tid("photo-title"))).to_contain_text("1344×768")
            expect(page.get_by_text("2 of 5 free edits left").first).to_be_attached()
            page.screenshot(path=str(ARTIFACTS / "created-1440.png"))
        browser.close()
