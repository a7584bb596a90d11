"""The user's plan as the state of their Stripe subscription: read it, find its user, apply it.

The plan follows the subscription object, never the order in which events arrive: each applied
snapshot records its freshness (`users.subscription_synced_at`, unix seconds), and a snapshot
older than the stored one changes nothing unless it was just read from Stripe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stripe import InvalidRequestError, StripeClient

from db.models import PLAN_FREE, PLAN_PRO, User
from pixora_ui.services import teams
from pixora_ui.services.plans import apply_plan
from pixora_ui.settings import Settings

# Subscription status → plan. `incomplete` (first payment still pending) changes nothing yet.
PRO_STATUSES = frozenset({"active", "trialing", "past_due"})
FREE_STATUSES = frozenset({"unpaid", "canceled", "incomplete_expired", "paused"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscription:
    """The fields of a Stripe subscription object that decide the user's state."""

    id: str
    customer: str | None
    status: str
    cancel_scheduled: bool
    period_end: int | None
    user_hint: int | None
    as_of: int  # unix time this snapshot is true at
    fetched: bool = False  # read from Stripe just now: the current truth, whatever is stored


@dataclass(kw_only=True, slots=True)
class Target:
    customer: str | None
    subscription_id: str | None
    user_hint: int | None


def id_of(value: Any) -> str | None:
    # Expandable fields are an id string or, when expanded, an object with an id.
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value).strip() else None
    except (TypeError, ValueError):
        return None


def snapshot(sub: dict[str, Any], *, as_of: int) -> Subscription:
    items = (sub.get("items") or {}).get("data") or []
    # Since API version basil the billing period lives on the subscription items.
    period_end = int_or_none(items[0].get("current_period_end")) if items else None
    cancel_at = int_or_none(sub.get("cancel_at"))
    metadata = sub.get("metadata") or {}
    return Subscription(
        id=str(sub["id"]),
        customer=id_of(sub.get("customer")),
        status=str(sub.get("status") or ""),
        cancel_scheduled=bool(sub.get("cancel_at_period_end")) or cancel_at is not None,
        period_end=cancel_at if cancel_at is not None and period_end is None else period_end,
        user_hint=int_or_none(metadata.get("user_id")),
        as_of=as_of,
    )


async def fetch_subscription(client: StripeClient, subscription_id: str) -> Subscription:
    now = int(time.time())
    try:
        fetched = await client.v1.subscriptions.retrieve_async(subscription_id)
    except InvalidRequestError as exc:
        if exc.code == "resource_missing":
            # Stripe no longer knows it: nothing is being paid for.
            return Subscription(
                id=subscription_id,
                customer=None,
                status="canceled",
                cancel_scheduled=False,
                period_end=None,
                user_hint=None,
                as_of=now,
                fetched=True,
            )
        raise
    return replace(snapshot(fetched.to_dict(), as_of=now), fetched=True)


async def find_user(session: AsyncSession, target: Target, *, lock: bool = False) -> User | None:
    conditions = []
    if target.customer:
        conditions.append(User.stripe_customer_id == target.customer)
    if target.user_hint is not None:
        conditions.append(User.id == target.user_hint)
    if target.subscription_id:
        conditions.append(User.stripe_subscription_id == target.subscription_id)
    for condition in conditions:
        query = select(User).where(condition).order_by(User.id).limit(1)
        if lock:
            query = query.with_for_update()
        user = await session.scalar(query)
        if user is not None:
            return user
    return None


def apply_subscription(user: User, sub: Subscription, settings: Settings) -> bool:
    """Move the user to the state of `sub`; False when newer state is already stored."""
    stored = user.subscription_synced_at or 0
    if sub.as_of < stored and not sub.fetched:
        return False
    if user.stripe_subscription_id and sub.id != user.stripe_subscription_id and sub.status not in PRO_STATUSES:
        # An older subscription ending must not end the one the user has now.
        return False
    user.stripe_subscription_id = sub.id
    if sub.customer:
        user.stripe_customer_id = sub.customer
    user.subscription_status = sub.status
    user.subscription_cancel_at_period_end = sub.cancel_scheduled and sub.status in PRO_STATUSES
    user.subscription_period_end = datetime.fromtimestamp(sub.period_end, UTC) if sub.period_end else None
    # Never move the marker back (a clock behind Stripe's must not reopen older events).
    user.subscription_synced_at = max(stored, sub.as_of)
    if sub.status in PRO_STATUSES:
        apply_plan(user, PLAN_PRO, settings)
        user.payment_warning = sub.status == "past_due"
    elif sub.status in FREE_STATUSES:
        if user.plan == PLAN_PRO:  # a Team plan granted by someone else's subscription is not ours to end
            apply_plan(user, PLAN_FREE, settings)
        user.payment_warning = False
    return True


async def sync_team(session: AsyncSession, user: User) -> None:
    """A team owner's plan decides the members' plan: pass the change on in the same transaction."""
    await teams.sync_members(session, owner=user)
