"""One Chromium journey: a Free user at the limit upgrades through the fake Stripe Checkout page and
the studio shows Pro once the signed webhook has arrived, and the AI edit goes through.

The app runs as a real subprocess (`main.py serve`) with STRIPE_* pointing at the fake Stripe API; the
fake's hosted checkout page delivers `checkout.session.completed` and `customer.subscription.updated`
to the app's webhook URL when "Pay" is clicked, then redirects to the success URL.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright
from skimage import data
from sqlalchemy import func, select

from db.models import JOB_SUCCEEDED, PLAN_PRO, Job, User
from db.session import dispose_engine, session_scope
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.services import assets
from tests.app_server import CHROMIUM_ARGS, free_port, serve_app
from tests.billing.conftest import load_user, make_user
from tests.fakes.stripe_fake import FakeStripe, running_fake_stripe

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_with_fake_stripe(isolated_env: Path) -> Iterator[tuple[str, FakeStripe]]:
    # The app's port must be known before it starts: the fake posts its webhooks there.
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with (
        running_fake_stripe(webhook_url=f"{app_url}/api/webhooks/stripe") as fake,
        serve_app(isolated_env, fake.env(), port=port) as url,
    ):
        assert url == app_url
        yield app_url, fake


async def _session_token(user_id: int) -> str:
    async with session_scope() as session:
        return await create_session(session, user_id=user_id)


def _sample_png(size: int = 192) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((size, size)).save(buffer, format="PNG")
    return buffer.getvalue()


def _in_thread(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run a database check beside Playwright's own event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _succeeded_jobs(user_id: int) -> int:
    try:
        async with session_scope() as session:
            query = select(func.count()).select_from(Job).where(Job.user_id == user_id, Job.status == JOB_SUCCEEDED)
            return int(await session.scalar(query) or 0)
    finally:
        await dispose_engine()


@pytest.mark.browser
def test_free_user_at_the_limit_upgrades_through_checkout(app_with_fake_stripe: tuple[str, FakeStripe]) -> None:
    app_url, fake = app_with_fake_stripe

    async def prepare() -> tuple[int, str, str]:
        try:
            user_id = await make_user("ada@example.com", usage_count=3)  # 3 of 3 free edits used
            async with session_scope() as session:
                photo = await assets.upload(session, owner_id=user_id, data=_sample_png(), filename="astronaut.png")
            return user_id, await _session_token(user_id), photo.id
        finally:
            await dispose_engine()

    user_id, token, photo_id = asyncio.run(prepare())

    def apply_remove_background(page: Page) -> None:
        page.get_by_text("Remove background", exact=True).first.click()
        page.get_by_role("button", name="Apply · 1 AI edit").first.click()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": app_url}])
            page = context.new_page()
            page.set_default_timeout(20_000)

            # In the studio, at the limit: an AI edit opens the upgrade dialog instead of running.
            page.goto(f"{app_url}/studio?photo={photo_id}")
            expect(page.get_by_role("banner").get_by_text("0 of 3 free edits left")).to_be_visible()
            apply_remove_background(page)
            dialog = page.locator(".q-dialog")
            expect(dialog.get_by_text("Unlimited AI edits", exact=True)).to_be_visible()
            dialog.get_by_role("button", name="Upgrade to Pro").click()

            # Stripe Checkout (the fake's hosted page).
            page.wait_for_url(f"{fake.base_url}/checkout/cs_test_*")
            expect(page.get_by_text("ada@example.com")).to_be_visible()
            page.get_by_role("button", name="Pay").click()

            # Back in Pixora: the success page waits until the webhook has made the user Pro.
            page.wait_for_url(f"{app_url}/billing/success?session_id=cs_test_*")
            expect(page.get_by_text("You are on Pro now")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Open the studio").click()

            # The studio shows Pro and the edit goes through.
            page.wait_for_url(f"{app_url}/studio*")
            expect(page.get_by_role("banner").get_by_text("Pro · unlimited")).to_be_visible()
            apply_remove_background(page)
            deadline = time.monotonic() + 120
            while _in_thread(_succeeded_jobs(user_id)) < 1:
                assert time.monotonic() < deadline, "the edit did not finish"
                page.wait_for_timeout(500)
            expect(page.locator(".q-dialog").get_by_text("Upgrade to Pro")).to_have_count(0)

            page.goto(f"{app_url}/billing")
            expect(page.get_by_text("Unlimited", exact=True)).to_be_visible()
            expect(page.get_by_role("button", name="Manage subscription")).to_be_visible()
            expect(page.get_by_text("Renews on")).to_be_visible()

            # "Manage subscription" opens the Customer Portal, which returns to /billing.
            page.get_by_role("button", name="Manage subscription").click()
            page.wait_for_url(f"{fake.base_url}/portal/bps_test_*")
            page.get_by_role("link", name="Return to Pixora").click()
            page.wait_for_url(f"{app_url}/billing")
            expect(page.get_by_text("Unlimited", exact=True)).to_be_visible()
        finally:
            browser.close()

    assert [d.event_type for d in fake.deliveries] == ["checkout.session.completed", "customer.subscription.updated"]
    assert all(d.status == 200 for d in fake.deliveries)
    (checkout_call,) = fake.calls("POST", "/v1/checkout/sessions")
    assert checkout_call.form["client_reference_id"] == str(user_id)

    async def reload() -> User:
        try:
            return await load_user(user_id)
        finally:
            await dispose_engine()

    stored = asyncio.run(reload())
    assert stored.plan == PLAN_PRO and stored.usage_limit is None
