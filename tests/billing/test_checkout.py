"""Checkout, portal and cancellation: the real stripe SDK against the fake Stripe API."""

from __future__ import annotations

import time

import pytest

from db.models import PLAN_FREE, PLAN_PRO, User
from db.session import session_scope
from pixora_ui.billing.checkout import cancel_subscription_for_user, create_portal_session, start_checkout
from pixora_ui.billing.client import PaymentsNotConfiguredError
from pixora_ui.billing.errors import AlreadySubscribedError, NoSubscriptionError, PaymentProviderError
from pixora_ui.billing.status import billing_status_for, payments_enabled
from tests.billing.conftest import load_user, make_user
from tests.fakes.stripe_fake import PRICE_PRO, SECRET_KEY, FakeStripe


async def test_checkout_session_sends_what_stripe_needs(fake_stripe: FakeStripe) -> None:
    user_id = await make_user("ada@example.com")
    url = await start_checkout(user_id=user_id)

    assert url.startswith(f"{fake_stripe.base_url}/checkout/cs_test_")
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert call.headers["idempotency-key"].startswith(f"checkout-{user_id}-")
    assert call.headers["stripe-version"].endswith(".endive")
    form = call.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == PRICE_PRO
    assert form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == str(user_id)
    assert form["metadata[user_id]"] == str(user_id)
    assert form["subscription_data[metadata][user_id]"] == str(user_id)
    assert form["customer_email"] == "ada@example.com"
    assert "customer" not in form
    assert form["success_url"] == "http://localhost:8080/billing/success?session_id={CHECKOUT_SESSION_ID}"
    assert form["cancel_url"] == "http://localhost:8080/billing/cancelled"


async def test_checkout_reuses_the_stripe_customer(fake_stripe: FakeStripe) -> None:
    sub = fake_stripe.add_subscription(status="canceled")
    user_id = await make_user(customer=sub["customer"], subscription=sub["id"], status="canceled")
    await start_checkout(user_id=user_id)
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.form["customer"] == sub["customer"]
    assert "customer_email" not in call.form


async def test_double_click_opens_one_session(fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    user_id = await make_user()
    first = await start_checkout(user_id=user_id)
    second = await start_checkout(user_id=user_id)
    assert first == second
    assert len(fake_stripe.sessions) == 1


async def test_pro_user_is_sent_to_the_portal_instead(fake_stripe: FakeStripe) -> None:
    sub = fake_stripe.add_subscription()
    user_id = await make_user(plan=PLAN_PRO, customer=sub["customer"], subscription=sub["id"], status="active")
    with pytest.raises(AlreadySubscribedError):
        await start_checkout(user_id=user_id)
    url = await create_portal_session(user_id=user_id)
    assert url.startswith(f"{fake_stripe.base_url}/portal/bps_test_")
    (call,) = fake_stripe.calls("POST", "/v1/billing_portal/sessions")
    assert call.form == {"customer": sub["customer"], "return_url": "http://localhost:8080/billing"}


async def test_portal_needs_a_customer(fake_stripe: FakeStripe) -> None:
    user_id = await make_user()
    with pytest.raises(NoSubscriptionError):
        await create_portal_session(user_id=user_id)
    assert fake_stripe.requests == []


async def test_stripe_errors_become_a_safe_message(fake_stripe: FakeStripe) -> None:
    # A customer id Stripe does not know: the fake answers 400 like Stripe.
    user_id = await make_user(customer="cus_unknown")
    with pytest.raises(PaymentProviderError, match="could not be reached"):
        await start_checkout(user_id=user_id)


async def test_payments_off_without_keys() -> None:
    user_id = await make_user()
    enabled, reason = payments_enabled()
    assert not enabled
    assert "not configured on this server" in reason and "administrator can change your plan" in reason
    assert "main.py" not in reason
    with pytest.raises(PaymentsNotConfiguredError):
        await start_checkout(user_id=user_id)
    status = await billing_status_for(user_id=user_id)
    assert not status.payments_enabled and not status.can_manage
    assert status.headline == "Free"


async def test_cancel_for_account_deletion(fake_stripe: FakeStripe) -> None:
    sub = fake_stripe.add_subscription()
    user_id = await make_user(plan=PLAN_PRO, customer=sub["customer"], subscription=sub["id"], status="active")
    async with session_scope() as session:
        user = await session.get(User, user_id)
        assert user is not None
        await cancel_subscription_for_user(session, user=user)
    (call,) = fake_stripe.calls("DELETE", f"/v1/subscriptions/{sub['id']}")
    assert call.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert fake_stripe.subscriptions[sub["id"]]["status"] == "canceled"
    stored = await load_user(user_id)
    assert stored.plan == PLAN_FREE and stored.subscription_status == "canceled"


async def test_cancel_of_a_subscription_stripe_no_longer_knows(fake_stripe: FakeStripe) -> None:
    user_id = await make_user(plan=PLAN_PRO, customer="cus_x", subscription="sub_gone", status="active")
    async with session_scope() as session:
        user = await session.get(User, user_id)
        assert user is not None
        await cancel_subscription_for_user(session, user=user)
    assert (await load_user(user_id)).plan == PLAN_FREE
