"""Webhook deliveries signed with stripe.WebhookSignature.generate_signature_header, the real SDK
verifying them, and the fake Stripe API answering re-fetches."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import PLAN_FREE, PLAN_PRO, PLAN_TEAM, ROLE_MEMBER, Asset, StripeEvent, User
from db.session import session_scope
from pixora_ui.billing import webhooks
from pixora_ui.billing.status import billing_status_for
from pixora_ui.billing.webhooks import InvalidWebhookError, handle_event
from pixora_ui.services import teams
from pixora_ui.services.usage import LimitReached, get_usage, reserve_credit
from tests.billing.conftest import load_user, make_user
from tests.fakes.stripe_fake import FakeStripe


async def _events_stored() -> int:
    async with session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(StripeEvent)) or 0)


async def _deliver(fake: FakeStripe, event_type: str, obj: dict, *, created: int | None = None):  # type: ignore[no-untyped-def]
    body = fake.event(event_type, obj, created=created)
    return await handle_event(body.encode(), fake.sign(body))


async def _checked_out_user(fake: FakeStripe) -> tuple[int, dict]:  # type: ignore[type-arg]
    """A Free user who has just paid: the checkout.session.completed webhook is applied."""
    user_id = await make_user()
    sub = fake.add_subscription(user_id=user_id)
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "client_reference_id": str(user_id),
        "metadata": {"user_id": str(user_id)},
        "customer_email": "ada@example.com",
    }
    result = await _deliver(fake, "checkout.session.completed", fake.checkout_completed(session, sub))
    assert result.outcome == "processed"
    return user_id, sub


async def test_checkout_completed_makes_the_user_pro(fake_stripe: FakeStripe) -> None:
    user_id, sub = await _checked_out_user(fake_stripe)
    user = await load_user(user_id)
    assert user.plan == PLAN_PRO
    assert user.usage_limit is None  # unlimited
    assert user.stripe_customer_id == sub["customer"]
    assert user.stripe_subscription_id == sub["id"]
    assert user.subscription_status == "active"
    period_end = sub["items"]["data"][0]["current_period_end"]
    assert user.subscription_period_end is not None
    assert int(user.subscription_period_end.timestamp()) == period_end
    status = await billing_status_for(user_id=user_id)
    assert status.headline == "Pro" and status.usage.unlimited and status.can_manage
    assert status.renewal_line.startswith("Renews on ")


async def test_tampered_body_is_refused(fake_stripe: FakeStripe) -> None:
    user_id = await make_user()
    sub = fake_stripe.add_subscription(user_id=user_id)
    body = fake_stripe.event("customer.subscription.updated", sub)
    signature = fake_stripe.sign(body)
    tampered = body.replace('"status": "active"', '"status": "trialing"')
    assert tampered != body
    with pytest.raises(InvalidWebhookError):
        await handle_event(tampered.encode(), signature)
    assert (await load_user(user_id)).plan == PLAN_FREE
    assert await _events_stored() == 0


async def test_wrong_secret_missing_header_and_garbage_are_refused(fake_stripe: FakeStripe) -> None:
    user_id = await make_user()
    sub = fake_stripe.add_subscription(user_id=user_id)
    body = fake_stripe.event("customer.subscription.updated", sub)
    for signature in (fake_stripe.sign(body, secret="whsec_someone_else"), None, "", "t=1,v1=abc"):
        with pytest.raises(InvalidWebhookError):
            await handle_event(body.encode(), signature)
    with pytest.raises(InvalidWebhookError):
        await handle_event(b"not json", fake_stripe.sign("not json"))
    assert (await load_user(user_id)).plan == PLAN_FREE
    assert await _events_stored() == 0


async def test_stale_timestamp_is_refused(fake_stripe: FakeStripe) -> None:
    user_id = await make_user()
    sub = fake_stripe.add_subscription(user_id=user_id)
    body = fake_stripe.event("customer.subscription.updated", sub)
    with pytest.raises(InvalidWebhookError):
        await handle_event(body.encode(), fake_stripe.sign(body, timestamp=int(time.time()) - 301))
    # Inside the 5-minute tolerance it passes.
    result = await handle_event(body.encode(), fake_stripe.sign(body, timestamp=int(time.time()) - 200))
    assert result.outcome == "processed"


async def test_duplicate_delivery_is_processed_once(fake_stripe: FakeStripe, isolated_env: Path) -> None:
    user_id, sub = await _checked_out_user(fake_stripe)
    body = fake_stripe.event("invoice.payment_failed", fake_stripe.invoice_failed(sub))
    first = await handle_event(body.encode(), fake_stripe.sign(body))
    second = await handle_event(body.encode(), fake_stripe.sign(body))
    assert (first.outcome, second.outcome) == ("processed", "duplicate")
    assert await _events_stored() == 2  # the checkout event and this one
    mails = list((isolated_env / "outbox").glob("*.eml"))
    assert len(mails) == 1  # one payment-failed mail, not two
    text = mails[0].read_text()
    assert "ada@example.com" in text and "payment" in text
    user = await load_user(user_id)
    assert user.plan == PLAN_PRO and user.payment_warning


async def test_concurrent_duplicates_are_processed_once(
    fake_stripe: FakeStripe, any_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = await make_user()
    sub = fake_stripe.add_subscription(user_id=user_id)
    body = fake_stripe.event("customer.subscription.updated", sub)
    signature = fake_stripe.sign(body)
    # Hold every delivery until all four have passed the "seen before?" check: the race is then
    # decided by the unique event id alone, inside the transaction that applies the effect.
    barrier = asyncio.Barrier(4)
    plan_event = webhooks._plan_event

    async def racing_plan_event(*args, **kwargs):  # type: ignore[no-untyped-def]
        await barrier.wait()
        return await plan_event(*args, **kwargs)

    monkeypatch.setattr(webhooks, "_plan_event", racing_plan_event)
    results = await asyncio.gather(*(handle_event(body.encode(), signature) for _ in range(4)))
    assert sorted(r.outcome for r in results) == ["duplicate", "duplicate", "duplicate", "processed"]
    assert await _events_stored() == 1
    assert (await load_user(user_id)).plan == PLAN_PRO


async def test_out_of_order_deleted_before_updated_stays_free(fake_stripe: FakeStripe, any_db: str) -> None:
    user_id, sub = await _checked_out_user(fake_stripe)
    now = int(time.time())
    # Stripe's real order: updated (still active, cancel scheduled) at t-60, then deleted at t.
    updated = dict(fake_stripe.subscriptions[sub["id"]], cancel_at_period_end=True)
    deleted = dict(fake_stripe.update_subscription(sub["id"], status="canceled"))
    fetches_before = len(fake_stripe.calls("GET", "/v1/subscriptions/"))

    result = await _deliver(fake_stripe, "customer.subscription.deleted", deleted, created=now + 5)
    assert result.outcome == "processed"
    user = await load_user(user_id)
    assert user.plan == PLAN_FREE and user.usage_limit == 3

    # The older update arrives last: the app asks Stripe for the subscription instead of trusting it.
    result = await _deliver(fake_stripe, "customer.subscription.updated", updated, created=now - 60)
    assert result.outcome == "processed"
    assert len(fake_stripe.calls("GET", f"/v1/subscriptions/{sub['id']}")) == fetches_before + 1
    user = await load_user(user_id)
    assert user.plan == PLAN_FREE
    assert user.subscription_status == "canceled"


async def test_subscription_states(fake_stripe: FakeStripe) -> None:
    user_id, sub = await _checked_out_user(fake_stripe)
    base = int(time.time()) + 10

    past_due = fake_stripe.update_subscription(sub["id"], status="past_due")
    await _deliver(fake_stripe, "customer.subscription.updated", dict(past_due), created=base)
    status = await billing_status_for(user_id=user_id)
    assert status.plan == PLAN_PRO and status.payment_warning

    ending = fake_stripe.update_subscription(sub["id"], status="active", cancel_at_period_end=True)
    await _deliver(fake_stripe, "customer.subscription.updated", dict(ending), created=base + 1)
    status = await billing_status_for(user_id=user_id)
    assert status.plan == PLAN_PRO and not status.payment_warning
    assert status.period_end is not None
    assert status.headline.startswith("Pro until ") and str(status.period_end.year) in status.headline

    for code in ("unpaid", "canceled", "incomplete_expired"):
        state = fake_stripe.update_subscription(sub["id"], status=code, cancel_at_period_end=False)
        base += 1
        await _deliver(fake_stripe, "customer.subscription.updated", dict(state), created=base)
        assert (await load_user(user_id)).plan == PLAN_FREE, code
        back = fake_stripe.update_subscription(sub["id"], status="trialing")
        base += 1
        await _deliver(fake_stripe, "customer.subscription.updated", dict(back), created=base)
        assert (await load_user(user_id)).plan == PLAN_PRO, code


async def test_unknown_event_is_ignored(fake_stripe: FakeStripe) -> None:
    user_id = await make_user()
    result = await _deliver(fake_stripe, "customer.created", {"id": "cus_1", "object": "customer"})
    assert result.outcome == "ignored"
    assert (await load_user(user_id)).plan == PLAN_FREE
    assert fake_stripe.requests == []


async def test_event_for_nobody_is_recorded_and_ignored(fake_stripe: FakeStripe) -> None:
    sub = fake_stripe.add_subscription()
    result = await _deliver(fake_stripe, "customer.subscription.updated", sub)
    assert result.outcome == "ignored" and result.detail == "no user"
    assert await _events_stored() == 1


async def test_downgrade_keeps_images_and_refuses_edits_beyond_the_free_limit(fake_stripe: FakeStripe) -> None:
    user_id, sub = await _checked_out_user(fake_stripe)
    async with session_scope() as session:
        for _ in range(5):  # Pro edits: unlimited, never charged
            assert await reserve_credit(session, user_id=user_id) is False
        session.add(
            Asset(
                owner_id=user_id, storage_key="u/a.png", mime="image/png", size=10, width=2, height=2, sha256="0" * 64
            )
        )
    deleted = fake_stripe.update_subscription(sub["id"], status="canceled")
    await _deliver(fake_stripe, "customer.subscription.deleted", dict(deleted), created=int(time.time()) + 5)

    async with session_scope() as session:
        usage = await get_usage(session, user_id=user_id)
        assert usage.plan == PLAN_FREE and usage.limit == 3
        assets = await session.scalar(select(func.count()).select_from(Asset).where(Asset.owner_id == user_id))
        assert assets == 1  # images stay
    # Spend what is left of the Free limit, then the next edit is refused.
    async with session_scope() as session:
        for _ in range(usage.remaining or 0):
            assert await reserve_credit(session, user_id=user_id) is True
    async with session_scope() as session:
        with pytest.raises(LimitReached):
            await reserve_credit(session, user_id=user_id)
        assert (await get_usage(session, user_id=user_id)).exhausted


async def test_team_members_follow_the_owners_subscription(fake_stripe: FakeStripe) -> None:
    owner_id, sub = await _checked_out_user(fake_stripe)
    await teams.start_team(owner_id=owner_id, name="Acme")
    member_id = await make_user("bob@example.com")
    async with session_scope() as session:
        owner = await session.get(User, owner_id)
        member = await session.get(User, member_id)
        assert owner is not None and member is not None
        member.team_id, member.role = owner.team_id, ROLE_MEMBER
        await teams.sync_members(session, owner=owner)
    assert (await load_user(member_id)).plan == PLAN_TEAM

    deleted = fake_stripe.update_subscription(sub["id"], status="canceled")
    await _deliver(fake_stripe, "customer.subscription.deleted", dict(deleted), created=int(time.time()) + 5)
    assert (await load_user(owner_id)).plan == PLAN_FREE
    assert (await load_user(member_id)).plan == PLAN_FREE
