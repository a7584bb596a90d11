"""The account journey in real headless Chromium (Playwright), against `main.py serve` in a subprocess:
sign up → studio → sign out → a protected page sends to sign-in → sign in comes back to `next`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.app_server import CHROMIUM_ARGS, mailed_link, serve_app
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, fake_oidc

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(isolated_env: Path) -> Iterator[str]:
    with serve_app(isolated_env) as url:
        yield url


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_sign_up_sign_out_protected_redirect_sign_in(app_url: str, isolated_env: Path) -> None:
    data_dir = isolated_env

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(30_000)

            # Sign up: "check your inbox"; the mailed link confirms the address and lands in the studio
            # with an HttpOnly, SameSite=Lax session cookie.
            page.goto(f"{app_url}/signup")
            page.get_by_label("Name").fill("Ada Lovelace")
            page.get_by_label("Email").fill("ada@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Create account").click()
            expect(page.get_by_text("Check your inbox")).to_be_visible()
            page.goto(app_url + mailed_link(data_dir))
            page.wait_for_url(re.compile(r".*/studio$"))
            assert _path(page.url) == "/studio"
            cookies = {c["name"]: c for c in context.cookies()}
            session = cookies["pixora_session"]
            assert session["httpOnly"] is True
            assert session["sameSite"] == "Lax"
            assert session["secure"] is False  # plain http here; Secure when BASE_URL is https
            assert "pixora_session" not in page.evaluate("document.cookie")
            if (REPO / "pages" / "studio.py").exists():
                expect(page.get_by_text("3 of 3 free edits left").first).to_be_visible()

            # Sign out from the user menu: the cookie is gone and the session revoked.
            page.goto(f"{app_url}/profile")
            expect(page.get_by_text("Member since")).to_be_visible()
            page.get_by_role("button").filter(has_text="AL").first.click()
            page.get_by_text("Sign out", exact=True).click()
            page.wait_for_url(f"{app_url}/")
            assert "pixora_session" not in {c["name"] for c in context.cookies()}

            # A protected page sends the anonymous visitor to sign-in, with `next`.
            page.goto(f"{app_url}/profile")
            page.wait_for_url(re.compile(r".*/login\?next=/profile$"))

            # A wrong password is answered inline; the right one goes back to `next`.
            page.get_by_label("Email").fill("ada@example.com")
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("main").get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Wrong email or password.")).to_be_visible()
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_label("Password").press("Enter")
            page.wait_for_url(f"{app_url}/profile")
            expect(page.get_by_text("Member since")).to_be_visible()
            expect(page.get_by_label("Email")).to_have_value("ada@example.com")
            new_session = {c["name"]: c for c in context.cookies()}["pixora_session"]
            assert new_session["value"] != session["value"]  # a new token at every sign-in
        finally:
            browser.close()


def test_google_sign_in_in_the_browser(isolated_env: Path) -> None:
    """The real redirect dance: app → fake provider's authorize → callback with state → signed in."""
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
                page.goto(f"{url}/login?next=/profile")
                page.get_by_role("button", name="Continue with Google").click()
                page.wait_for_url(f"{url}/profile")
                expect(page.get_by_label("Email")).to_have_value("grace@example.com")
                expect(page.get_by_text("Google", exact=True)).to_be_visible()
                assert provider.token_requests, "the app exchanged the code at the token endpoint"
            finally:
                browser.close()
