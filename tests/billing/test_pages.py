"""The billing page, the success page and the billing HTTP routes, through NiceGUI's simulated user."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest
from nicegui import ui
from nicegui.testing import User as SimUser

from components.upgrade_dialog import open_upgrade_dialog
from db.models import PLAN_PRO
from db.session import session_scope
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from tests.billing.conftest import load_user, make_user
from tests.fakes.stripe_fake import FakeStripe


async def _sign_in(user: SimUser, user_id: int) -> None:
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)


async def _post_event(user: SimUser, fake: FakeStripe, body: str) -> None:
    response = await user.http_client.post(
        "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": fake.sign(body)}
    )
    assert response.status_code == 200, response.text


async def _pro_user(fake: FakeStripe, **changes: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    sub = fake.add_subscription()
    fake.update_subscription(sub["id"], **changes)
    user_id = await make_user(plan=PLAN_PRO, customer=sub["customer"], subscription=sub["id"], status="active")
    body = fake.event("customer.subscription.updated", sub)
    return user_id, {"sub": sub, "body": body}


async def test_billing_page_without_stripe_says_payments_are_off(user: SimUser) -> None:
    await _sign_in(user, await make_user())
    await user.open("/billing")
    await user.should_see(marker="plan-headline", content="Free")
    await user.should_see("Payments are not configured on this server")
    await user.should_see(marker="payments-off")
    button = user.find(marker="upgrade-button").elements.pop()
    assert isinstance(button, ui.button) and not button.enabled
    await user.should_see(marker="usage-progress")
    await user.should_see("0 of 3 used")
    user.find(marker="plan-pro")  # the Free vs Pro comparison


async def test_billing_page_for_a_free_user_with_stripe(fake_stripe: FakeStripe, user: SimUser) -> None:
    await _sign_in(user, await make_user(usage_count=3))
    await user.open("/billing")
    await user.should_see("3 of 3 used")
    await user.should_see("You have used all your free AI edits.")
    button = user.find(marker="upgrade-button").elements.pop()
    assert isinstance(button, ui.button) and button.enabled
    await user.should_not_see(marker="payments-off")
    await user.should_not_see(marker="manage-subscription")


async def test_billing_page_for_pro_shows_unlimited_and_manage(fake_stripe: FakeStripe, user: SimUser) -> None:
    user_id, data = await _pro_user(fake_stripe)
    response = await user.http_client.post(
        "/api/webhooks/stripe", content=data["body"], headers={"Stripe-Signature": fake_stripe.sign(data["body"])}
    )
    assert response.status_code == 200
    await _sign_in(user, user_id)
    await user.open("/billing")
    await user.should_see(marker="plan-headline", content="Pro")
    await user.should_see(marker="usage-unlimited")
    await user.should_see(marker="manage-subscription")
    await user.should_see("Renews on")
    await user.should_not_see(marker="upgrade-button")


async def test_pro_until_and_past_due_banner(fake_stripe: FakeStripe, user: SimUser) -> None:
    user_id, data = await _pro_user(fake_stripe, cancel_at_period_end=True)
    await user.http_client.post(
        "/api/webhooks/stripe", content=data["body"], headers={"Stripe-Signature": fake_stripe.sign(data["body"])}
    )
    await _sign_in(user, user_id)
    await user.open("/billing")
    await user.should_see("Pro until ")
    await user.should_see("you go back to Free after that")

    past_due = fake_stripe.update_subscription(data["sub"]["id"], status="past_due", cancel_at_period_end=False)
    body = fake_stripe.event("customer.subscription.updated", past_due, created=int(time.time()) + 5)
    await user.http_client.post(
        "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": fake_stripe.sign(body)}
    )
    await user.open("/billing")
    await user.should_see(marker="payment-warning")
    await user.should_see("Payment overdue")


async def test_checkout_route_json_form_origin_and_auth(fake_stripe: FakeStripe, user: SimUser) -> None:
    user_id = await make_user()
    anonymous = await user.http_client.post("/api/create-checkout-session", headers={"Accept": "application/json"})
    assert anonymous.status_code == 401

    await _sign_in(user, user_id)
    response = await user.http_client.post(
        "/api/create-checkout-session", headers={"Accept": "application/json", "Origin": "http://localhost:8080"}
    )
    assert response.status_code == 200
    assert response.json()["url"].startswith(f"{fake_stripe.base_url}/checkout/cs_test_")

    form = await user.http_client.post(
        "/api/create-checkout-session",
        content=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://localhost:8080"},
    )
    assert form.status_code == 303
    assert form.headers["location"].startswith(f"{fake_stripe.base_url}/checkout/cs_test_")

    forged = await user.http_client.post("/api/create-checkout-session", headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 2


async def test_checkout_route_without_stripe_is_503(user: SimUser) -> None:
    await _sign_in(user, await make_user())
    response = await user.http_client.post("/api/create-checkout-session")
    assert response.status_code == 503
    assert response.json()["error"] == "payments_not_configured"


async def test_portal_route(fake_stripe: FakeStripe, user: SimUser) -> None:
    user_id, _ = await _pro_user(fake_stripe)
    await _sign_in(user, user_id)
    response = await user.http_client.post("/api/billing/portal")
    assert response.status_code == 200
    assert response.json()["url"].startswith(f"{fake_stripe.base_url}/portal/")
    await _sign_in(user, await make_user("bob@example.com"))
    assert (await user.http_client.post("/api/billing/portal")).status_code == 409


async def test_webhook_route_answers(fake_stripe: FakeStripe, user: SimUser, caplog: pytest.LogCaptureFixture) -> None:
    user_id, data = await _pro_user(fake_stripe)
    body = data["body"]
    caplog.set_level(logging.WARNING)

    bad = await user.http_client.post(
        "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": fake_stripe.sign(body, secret="whsec_x")}
    )
    assert bad.status_code == 400
    assert "stripe webhook refused" in caplog.text
    stale = await user.http_client.post(
        "/api/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": fake_stripe.sign(body, timestamp=int(time.time()) - 600)},
    )
    assert stale.status_code == 400
    unsigned = await user.http_client.post("/api/webhooks/stripe", content=body)
    assert unsigned.status_code == 400

    headers = {"Stripe-Signature": fake_stripe.sign(body), "Content-Type": "application/json"}
    first, second = await asyncio.gather(
        user.http_client.post("/api/webhooks/stripe", content=body, headers=headers),
        user.http_client.post("/api/webhooks/stripe", content=body, headers=headers),
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert sorted([first.json()["outcome"], second.json()["outcome"]]) == ["duplicate", "processed"]

    unknown = fake_stripe.event("charge.refunded", {"id": "ch_1", "object": "charge"})
    ignored = await user.http_client.post(
        "/api/webhooks/stripe", content=unknown, headers={"Stripe-Signature": fake_stripe.sign(unknown)}
    )
    assert ignored.status_code == 200 and ignored.json()["outcome"] == "ignored"
    assert (await load_user(user_id)).plan == PLAN_PRO


async def test_success_page_waits_for_the_webhook(fake_stripe: FakeStripe, user: SimUser) -> None:
    user_id = await make_user()
    await _sign_in(user, user_id)
    await user.open("/billing/success?session_id=cs_test_123")
    await user.should_see("Confirming your payment with Stripe")
    await user.should_not_see(marker="success-pro")

    sub = fake_stripe.add_subscription(user_id=user_id)
    body = fake_stripe.event("customer.subscription.updated", sub)
    await user.http_client.post(
        "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": fake_stripe.sign(body)}
    )
    await user.should_see(marker="success-pro", retries=40)


async def test_success_page_explains_when_nothing_arrives(
    fake_stripe: FakeStripe, user: SimUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Imported once the app is built: a page module imported while tests are collected registers its
    # routes on an app that NiceGUI's test fixture then replaces (every page would answer 404).
    import pages.billing  # noqa: PLC0415

    monkeypatch.setattr(pages.billing, "SUCCESS_WAIT_S", 0.5)
    monkeypatch.setattr(pages.billing, "SUCCESS_POLL_S", 0.2)
    await _sign_in(user, await make_user())
    await user.open("/billing/success?session_id=cs_test_123")
    await user.should_see(marker="success-late", retries=40)
    await user.should_see("Reference: cs_test_123")


async def test_cancelled_page(user: SimUser) -> None:
    await _sign_in(user, await make_user())
    await user.open("/billing/cancelled")
    await user.should_see("Nothing was charged")


async def test_billing_needs_sign_in(user: SimUser) -> None:
    await user.open("/billing")
    await user.should_not_see(marker="plan-headline")


async def test_upgrade_dialog_without_payments(user: SimUser) -> None:
    @ui.page("/dialog-test")
    def dialog_page() -> None:
        ui.button("open", on_click=lambda: open_upgrade_dialog(payments_enabled=False, reason="Payments are off here."))

    await user.open("/dialog-test")
    user.find("open").click()
    await user.should_see(marker="upgrade-dialog")
    await user.should_see(marker="plan-free")
    await user.should_see(marker="plan-pro")
    await user.should_see("Payments are off here.")
    button = user.find(marker="upgrade-button").elements.pop()
    assert not button.enabled


async def test_upgrade_button_reports_a_failed_checkout(fake_stripe: FakeStripe, user: SimUser) -> None:
    # The browser's POST is simulated here (the Chromium journey does it for real).
    def failed(_match: object) -> dict[str, object]:
        return {"status": 502, "body": {"error": "payment_provider_unavailable", "message": "Stripe is down."}}

    user.javascript_rules[re.compile(r".*/api/create-checkout-session.*", re.S)] = failed
    await _sign_in(user, await make_user())
    await user.open("/billing")
    user.find(marker="upgrade-button").click()
    await user.should_see("Stripe is down.")
