"""Item 8: odd but correctly signed Stripe webhooks are refused with 400 and a log line, never a 500;
a signature timestamped beyond the tolerance in the future is refused like a stale one."""

from __future__ import annotations

import json
import logging
import time

import pytest
from nicegui.testing import User
from sqlalchemy import func, select

from db.models import StripeEvent
from db.session import session_scope
from pixora_ui.billing.webhooks import WEBHOOK_TOLERANCE_S
from tests.fakes.stripe_fake import FakeStripe

URL = "/api/webhooks/stripe"
NOW = int(time.time())
ODD_BODIES = {
    "missing id": {"type": "customer.subscription.updated", "created": NOW, "data": {"object": {"id": "sub_1"}}},
    "missing type": {"id": "evt_odd_2", "created": NOW, "data": {"object": {"id": "sub_1"}}},
    "created not a number": {
        "id": "evt_odd_3",
        "type": "customer.subscription.updated",
        "created": "abc",
        "data": {"object": {"id": "sub_1"}},
    },
    "data.object a list": {
        "id": "evt_odd_4",
        "type": "customer.subscription.updated",
        "created": NOW,
        "data": {"object": [1, 2]},
    },
    "data a string": {"id": "evt_odd_5", "type": "invoice.payment_failed", "created": NOW, "data": "nope"},
    "subscription without id": {
        "id": "evt_odd_6",
        "type": "customer.subscription.deleted",
        "created": NOW,
        "data": {"object": {"status": "canceled"}},
    },
    "invoice parent a list": {
        "id": "evt_odd_7",
        "type": "invoice.payment_failed",
        "created": NOW,
        "data": {"object": {"customer": "cus_1", "parent": ["x"]}},
    },
    "a JSON array": [{"id": "evt_odd_8"}],
    "NUL in the id": {"id": "evt_\u0000", "type": "invoice.paid", "created": NOW, "data": {"object": {}}},
}


async def _stored_events() -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(StripeEvent)) or 0)


@pytest.mark.parametrize("name", list(ODD_BODIES))
async def test_odd_signed_webhook_is_a_400_with_a_log_line(
    user: User, fake_stripe: FakeStripe, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(ODD_BODIES[name])
    with caplog.at_level(logging.WARNING, logger="pixora.billing"):
        response = await user.http_client.post(URL, content=body, headers={"stripe-signature": fake_stripe.sign(body)})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_event"
    assert any("stripe webhook refused" in r.getMessage() for r in caplog.records)
    assert await _stored_events() == 0


@pytest.mark.parametrize("offset", [WEBHOOK_TOLERANCE_S + 60, 3600, -(WEBHOOK_TOLERANCE_S + 60)])
async def test_signature_outside_the_tolerance_is_refused_both_ways(
    user: User, fake_stripe: FakeStripe, offset: int
) -> None:
    body = fake_stripe.event("invoice.paid", {"id": "in_1", "object": "invoice"})
    signature = fake_stripe.sign(body, timestamp=int(time.time()) + offset)
    response = await user.http_client.post(URL, content=body, headers={"stripe-signature": signature})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_signature"


async def test_a_well_formed_event_within_the_tolerance_is_still_accepted(user: User, fake_stripe: FakeStripe) -> None:
    body = fake_stripe.event("invoice.paid", {"id": "in_1", "object": "invoice"})
    signature = fake_stripe.sign(body, timestamp=int(time.time()) + 30)  # a little clock skew is fine
    response = await user.http_client.post(URL, content=body, headers={"stripe-signature": signature})
    assert response.status_code == 200, response.text
