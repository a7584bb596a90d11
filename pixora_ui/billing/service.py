"""Billing with Stripe: Checkout, the Customer Portal, webhooks and the billing status.

The user's plan follows the Stripe subscription object, never the order in which events arrive:
each applied object records its freshness (`users.subscription_synced_at`, unix seconds), an event
older than (or as old as) the stored state is answered by re-fetching the subscription from
Stripe, and each event id is stored under a unique constraint in the same transaction as its
effect, so a duplicate delivery, even a concurrent one, changes nothing twice.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from stripe import InvalidRequestError, SignatureVerificationError, StripeClient, StripeError, WebhookSignature

from db.models import PLAN_FREE, PLAN_PRO, StripeEvent, User, as_utc
from db.session import session_scope
from pixora_ui.billing.client import PAYMENTS_OFF_REASON, PaymentsNotConfiguredError, stripe_client
from pixora_ui.errors import PixoraError
from pixora_ui.services.plans import PLAN_LABELS, Usage, apply_plan, usage_of
from pixora_ui.settings import Settings, get_settings

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_S = 300

EVENT_CHECKOUT_COMPLETED = "checkout.session.completed"
EVENT_SUBSCRIPTION_UPDATED = "customer.subscription.updated"
EVENT_SUBSCRIPTION_DELETED = "customer.subscription.deleted"
EVENT_PAYMENT_FAILED = "invoice.payment_failed"
HANDLED_EVENTS = frozenset(
    {EVENT_CHECKOUT_COMPLETED, EVENT_SUBSCRIPTION_UPDATED, EVENT_SUBSCRIPTION_DELETED, EVENT_PAYMENT_FAILED}
)

# Subscription status → plan. `incomplete` (first payment still pending) changes nothing yet.
PRO_STATUSES = frozenset({"active", "trialing", "past_due"})
FREE_STATUSES = frozenset({"unpaid", "canceled", "incomplete_expired", "paused"})
STATUS_LABELS = {
    "active": "Active",
    "trialing": "Trial",
    "past_due": "Payment overdue",
    "unpaid": "Unpaid",
    "canceled": "Cancelled",
    "incomplete": "Waiting for the first payment",
    "incomplete_expired": "Expired before the first payment",
    "paused": "Paused",
}

__all__ = [
    "PAYMENTS_OFF_REASON",
    "AlreadySubscribedError",
    "BillingError",
    "BillingStatus",
    "InvalidWebhookError",
    "MalformedEventError",
    "NoSubscriptionError",
    "PaymentProviderError",
    "PaymentsNotConfiguredError",
    "WebhookResult",
    "billing_status",
    "billing_status_for",
    "cancel_subscription_for_user",
    "create_portal_session",
    "current_plan_for",
    "handle_event",
    "payments_enabled",
    "start_checkout",
]


class BillingError(PixoraError):
    """A billing action could not be done; the message is safe to show to the user."""

    code = "billing_error"


class AlreadySubscribedError(BillingError):
    status = 409
    code = "already_subscribed"


class NoSubscriptionError(BillingError):
    status = 409
    code = "no_subscription"


class PaymentProviderError(BillingError):
    """Stripe could not be reached or refused the request."""

    status = 502
    code = "payment_provider_unavailable"


class InvalidWebhookError(PixoraError):
    """A webhook whose signature is missing, wrong or stale, or whose body is not an event."""


class MalformedEventError(InvalidWebhookError):
    """A correctly signed body that is not a usable Stripe event (answer 400: retrying will not help)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookResult:
    outcome: Literal["processed", "duplicate", "ignored"]
    event_id: str
    event_type: str
    detail: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class BillingStatus:
    """What the billing page and the upgrade dialog show (plain data)."""

    plan: str
    plan_label: str
    usage: Usage
    subscription_status: str | None
    status_label: str
    period_end: datetime | None
    cancel_at_period_end: bool
    payment_warning: bool
    can_manage: bool  # has a Stripe customer, so the Customer Portal can open
    payments_enabled: bool
    payments_reason: str  # why payments are off (empty when on)

    @property
    def is_free(self) -> bool:
        return self.plan == PLAN_FREE

    @property
    def headline(self) -> str:
        """ "Pro", "Pro until 3 Jan 2027" or "Free"."""
        if self.plan != PLAN_FREE and self.cancel_at_period_end and self.period_end is not None:
            return f"{self.plan_label} until {format_date(self.period_end)}"
        return self.plan_label

    @property
    def renewal_line(self) -> str:
        if self.period_end is None or self.plan == PLAN_FREE:
            return ""
        if self.cancel_at_period_end:
            return f"Ends on {format_date(self.period_end)}; you go back to Free after that."
        return f"Renews on {format_date(self.period_end)}."


def format_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def payments_enabled(settings: Settings | None = None) -> tuple[bool, str]:
    """Whether upgrades can be bought here, and if not, why (for disabled buttons)."""
    settings = settings or get_settings()
    return (True, "") if settings.stripe_enabled else (False, PAYMENTS_OFF_REASON)


# --- status ------------------------------------------------------------------------------------


async def billing_status(session: AsyncSession, *, user_id: int) -> BillingStatus:
    settings = get_settings()
    user = await session.get(User, user_id)
    if user is None:
        raise BillingError("Your account was not found.")
    enabled, reason = payments_enabled(settings)
    status = user.subscription_status
    return BillingStatus(
        plan=user.plan,
        plan_label=PLAN_LABELS.get(user.plan, user.plan.title()),
        usage=usage_of(user),
        subscription_status=status,
        status_label=STATUS_LABELS.get(status or "", "No subscription" if user.plan == PLAN_FREE else "Active"),
        period_end=as_utc(user.subscription_period_end),
        cancel_at_period_end=user.subscription_cancel_at_period_end,
        payment_warning=user.payment_warning,
        can_manage=bool(user.stripe_customer_id) and enabled,
        payments_enabled=enabled,
        payments_reason=reason,
    )


async def billing_status_for(*, user_id: int) -> BillingStatus:
    """`billing_status` in its own unit of work (for pages)."""
    async with session_scope() as session:
        return await billing_status(session, user_id=user_id)


async def current_plan_for(*, user_id: int) -> str:
    """The user's plan as stored now (the success page polls this)."""
    async with session_scope() as session:
        plan = await session.scalar(select(User.plan).where(User.id == user_id))
    return plan or PLAN_FREE


# --- checkout and portal -----------------------------------------------------------------------


async def start_checkout(*, user_id: int) -> str:
    """Create a Checkout Session for the Pro subscription and return its URL (redirect the user there)."""
    settings = get_settings()
    if not settings.stripe_enabled:
        raise PaymentsNotConfiguredError()
    async with session_scope() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise BillingError("Your account was not found.")
        if user.plan == PLAN_PRO and user.subscription_status in PRO_STATUSES:
            raise AlreadySubscribedError("You are already on Pro. Manage your subscription on the billing page.")
        email, customer = user.email, user.stripe_customer_id
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": settings.stripe_price_pro, "quantity": 1}],
        "client_reference_id": str(user_id),
        "metadata": {"user_id": str(user_id)},
        "subscription_data": {"metadata": {"user_id": str(user_id)}},
        "success_url": f"{settings.base_url}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{settings.base_url}/billing/cancelled",
    }
    # Reuse the Stripe customer so one person never ends up with two customers (and two subscriptions).
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = email
    # Same key within a 10-second window: a double click opens one session, not two.
    key = f"checkout-{user_id}-{int(time.time()) // 10}"
    async with stripe_client(settings) as client:
        try:
            checkout = await client.v1.checkout.sessions.create_async(params, {"idempotency_key": key})  # type: ignore[arg-type]
        except StripeError as exc:
            log.warning("stripe checkout session for user %s failed: %s", user_id, exc.__class__.__name__)
            raise PaymentProviderError("The payment provider could not be reached. Please try again shortly.") from exc
    url = checkout.url
    if not url:
        raise PaymentProviderError("The payment provider did not return a checkout page. Please try again.")
    return url


async def create_portal_session(*, user_id: int) -> str:
    """A Customer Portal session (manage card, cancel, invoices) that returns to /billing."""
    settings = get_settings()
    if not settings.stripe_enabled:
        raise PaymentsNotConfiguredError()
    async with session_scope() as session:
        customer = await session.scalar(select(User.stripe_customer_id).where(User.id == user_id))
    if not customer:
        raise NoSubscriptionError("There is no subscription to manage yet. Upgrade to Pro first.")
    async with stripe_client(settings) as client:
        try:
            portal = await client.v1.billing_portal.sessions.create_async(
                {"customer": customer, "return_url": f"{settings.base_url}/billing"}
            )
        except StripeError as exc:
            log.warning("stripe portal session for user %s failed: %s", user_id, exc.__class__.__name__)
            raise PaymentProviderError("The payment provider could not be reached. Please try again shortly.") from exc
    return portal.url


async def cancel_subscription_for_user(session: AsyncSession, *, user: User) -> None:
    """Cancel the user's subscription now (account deletion) and move them to Free.

    A subscription that Stripe no longer knows counts as cancelled. Raises PaymentProviderError
    when Stripe cannot be reached, so an account is never deleted while it is still being billed.
    """
    settings = get_settings()
    subscription_id = user.stripe_subscription_id
    if subscription_id and settings.stripe_enabled and user.subscription_status not in FREE_STATUSES:
        async with stripe_client(settings) as client:
            try:
                await client.v1.subscriptions.cancel_async(subscription_id)
            except InvalidRequestError as exc:
                if exc.code != "resource_missing":
                    raise PaymentProviderError("The subscription could not be cancelled. Please try again.") from exc
            except StripeError as exc:
                log.warning("stripe cancel for user %s failed: %s", user.id, exc.__class__.__name__)
                raise PaymentProviderError("The subscription could not be cancelled. Please try again.") from exc
        user.subscription_status = "canceled"
        user.subscription_cancel_at_period_end = False
        user.subscription_synced_at = int(time.time())
    user.payment_warning = False
    if user.plan == PLAN_PRO:
        apply_plan(user, PLAN_FREE, settings)
        await _sync_team(session, user)
    await session.flush()


# --- webhooks ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class _Subscription:
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
class _Target:
    customer: str | None
    subscription_id: str | None
    user_hint: int | None


def _id_of(value: Any) -> str | None:
    # Expandable fields are an id string or, when expanded, an object with an id.
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value).strip() else None
    except (TypeError, ValueError):
        return None


def _snapshot(sub: dict[str, Any], *, as_of: int) -> _Subscription:
    items = (sub.get("items") or {}).get("data") or []
    # Since API version basil the billing period lives on the subscription items.
    period_end = _int_or_none(items[0].get("current_period_end")) if items else None
    cancel_at = _int_or_none(sub.get("cancel_at"))
    metadata = sub.get("metadata") or {}
    return _Subscription(
        id=str(sub["id"]),
        customer=_id_of(sub.get("customer")),
        status=str(sub.get("status") or ""),
        cancel_scheduled=bool(sub.get("cancel_at_period_end")) or cancel_at is not None,
        period_end=cancel_at if cancel_at is not None and period_end is None else period_end,
        user_hint=_int_or_none(metadata.get("user_id")),
        as_of=as_of,
    )


async def _fetch_subscription(client: StripeClient, subscription_id: str) -> _Subscription:
    now = int(time.time())
    try:
        fetched = await client.v1.subscriptions.retrieve_async(subscription_id)
    except InvalidRequestError as exc:
        if exc.code == "resource_missing":
            # Stripe no longer knows it: nothing is being paid for.
            return _Subscription(
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
    return replace(_snapshot(fetched.to_dict(), as_of=now), fetched=True)


async def _find_user(session: AsyncSession, target: _Target, *, lock: bool = False) -> User | None:
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


def _apply_subscription(user: User, sub: _Subscription, settings: Settings) -> bool:
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


async def _sync_team(session: AsyncSession, user: User) -> None:
    """A team owner's plan decides the members' plan: pass the change on in the same transaction."""
    from pixora_ui.services import teams

    await teams.sync_members(session, owner=user)


@dataclass(kw_only=True, slots=True)
class _Plan:
    """What one event will do, worked out (network included) before the transaction opens."""

    target: _Target
    subscription: _Subscription | None = None
    payment_failed: bool = False
    invoice_url: str | None = None


async def _is_stale(target: _Target, created: int, *, same_second_too: bool = True) -> bool:
    """Whether the stored state is newer than an event created at `created`.

    For subscription events a tie counts as stale too (Stripe sends several in the same second, and
    re-reading the subscription settles which came last).
    """
    async with session_scope() as session:
        user = await _find_user(session, target)
        stored = None if user is None else user.subscription_synced_at
        if stored is None:
            return False
        return created <= stored if same_second_too else created < stored


async def _plan_event(client: StripeClient, event_type: str, obj: dict[str, Any], created: int) -> _Plan | None:
    if event_type == EVENT_CHECKOUT_COMPLETED:
        subscription_id = _id_of(obj.get("subscription"))
        if obj.get("mode") != "subscription" or not subscription_id:
            return None
        metadata = obj.get("metadata") or {}
        target = _Target(
            customer=_id_of(obj.get("customer")),
            subscription_id=subscription_id,
            user_hint=_int_or_none(obj.get("client_reference_id")) or _int_or_none(metadata.get("user_id")),
        )
        # The session carries no subscription state (status, period): read it from Stripe.
        try:
            sub = await _fetch_subscription(client, subscription_id)
        except StripeError as exc:
            if obj.get("payment_status") not in {"paid", "no_payment_required"}:
                raise
            # Paid, but Stripe is briefly unreachable: grant Pro now, the next event brings the details.
            log.warning("stripe subscription %s not fetched (%s); using the checkout session", subscription_id, exc)
            sub = _Subscription(
                id=subscription_id,
                customer=target.customer,
                status="active",
                cancel_scheduled=False,
                period_end=None,
                user_hint=target.user_hint,
                as_of=created,
            )
        return _Plan(target=target, subscription=sub)
    if event_type in {EVENT_SUBSCRIPTION_UPDATED, EVENT_SUBSCRIPTION_DELETED}:
        sub = _snapshot(obj, as_of=created)
        target = _Target(customer=sub.customer, subscription_id=sub.id, user_hint=sub.user_hint)
        if await _is_stale(target, created):
            sub = await _fetch_subscription(client, sub.id)
        return _Plan(target=target, subscription=sub)
    if event_type == EVENT_PAYMENT_FAILED:
        parent = obj.get("parent") or {}
        subscription_id = _id_of((parent.get("subscription_details") or {}).get("subscription"))
        target = _Target(customer=_id_of(obj.get("customer")), subscription_id=subscription_id, user_hint=None)
        plan = _Plan(target=target, payment_failed=True, invoice_url=obj.get("hosted_invoice_url"))
        if subscription_id and await _is_stale(target, created, same_second_too=False):
            # The subscription has moved on since this invoice: its current state decides the warning.
            plan.subscription = await _fetch_subscription(client, subscription_id)
            plan.payment_failed = plan.subscription.status == "past_due"
        return plan
    return None


def _signed_at(signature: str) -> int | None:
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            return _int_or_none(value)
    return None


def verify_event(raw_body: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event as a dict, once the signature and its timestamp (both ways) are checked."""
    header = signature or ""
    try:
        # Verification needs no API client (and so opens no connection pool per delivery).
        WebhookSignature.verify_header(raw_body.decode("utf-8", "replace"), header, secret, WEBHOOK_TOLERANCE_S)
    except SignatureVerificationError as exc:
        raise InvalidWebhookError(f"signature check failed: {exc.user_message or exc}") from exc
    signed_at = _signed_at(header)
    # The SDK only refuses old timestamps; one far in the future is a replay prepared in advance.
    if signed_at is None or signed_at > time.time() + WEBHOOK_TOLERANCE_S:
        raise InvalidWebhookError("signature timestamp is in the future beyond the tolerance")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEventError("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedEventError("the body is not a JSON object")
    return payload


def _event_fields(payload: dict[str, Any]) -> tuple[str, str, int, dict[str, Any]]:
    """(id, type, created, data.object) of a verified event; MalformedEventError when one is unusable."""
    event_id, event_type, created = payload.get("id"), payload.get("type"), payload.get("created")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255 or "\x00" in event_id:
        raise MalformedEventError("the event has no usable id")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100 or "\x00" in event_type:
        raise MalformedEventError(f"event {event_id} has no usable type")
    if isinstance(created, bool) or not isinstance(created, int) or created < 0:
        raise MalformedEventError(f"event {event_id} has no usable created time")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise MalformedEventError(f"event {event_id} ({event_type}) has no data object")
    if event_type in {EVENT_SUBSCRIPTION_UPDATED, EVENT_SUBSCRIPTION_DELETED} and not (
        isinstance(obj.get("id"), str) and obj["id"]
    ):
        raise MalformedEventError(f"event {event_id} ({event_type}) names no subscription")
    return event_id, event_type, created, obj


async def handle_event(raw_body: bytes, signature: str | None) -> WebhookResult:
    """Verify and apply one Stripe webhook delivery.

    Raises InvalidWebhookError for a bad or stale signature (answer 400) and
    PaymentsNotConfiguredError when Stripe is off. A StripeError while re-fetching state propagates
    (answer 5xx, so Stripe delivers the event again later).
    """
    settings = get_settings()
    if not settings.stripe_enabled:
        raise PaymentsNotConfiguredError()
    payload = verify_event(raw_body, signature, settings.stripe_webhook_secret)
    event_id, event_type, created, obj = _event_fields(payload)

    if event_type not in HANDLED_EVENTS:
        return WebhookResult(outcome="ignored", event_id=event_id, event_type=event_type, detail="unhandled type")
    async with session_scope() as session:
        if await session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)) is not None:
            return WebhookResult(outcome="duplicate", event_id=event_id, event_type=event_type)

    async with stripe_client(settings) as client:
        try:
            plan = await _plan_event(client, event_type, obj, created)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # A nested field of the wrong shape (a list where Stripe sends an object, …).
            raise MalformedEventError(f"event {event_id} ({event_type}) has an unexpected shape: {exc!r}") from exc

    mail_to: tuple[str, str] | None = None
    try:
        async with session_scope() as session:
            # The event row first: a concurrent delivery of the same event waits here and then fails.
            session.add(StripeEvent(event_id=event_id, type=event_type, created=created))
            await session.flush()
            if plan is None:
                return WebhookResult(outcome="ignored", event_id=event_id, event_type=event_type, detail="not ours")
            user = await _find_user(session, plan.target, lock=True)
            if user is None:
                log.warning("stripe event %s (%s) matches no user", event_id, event_type)
                return WebhookResult(outcome="ignored", event_id=event_id, event_type=event_type, detail="no user")
            changed = False
            if plan.subscription is not None:
                changed = _apply_subscription(user, plan.subscription, settings)
                if changed:
                    await _sync_team(session, user)
            if plan.payment_failed and (user.subscription_status is None or user.subscription_status in PRO_STATUSES):
                user.payment_warning = True
                changed = True
                mail_to = (user.email, user.name)
            detail = f"user {user.id}: {user.plan}" + ("" if changed else " (older than the stored state)")
    except IntegrityError:
        # The same event id was committed by a concurrent delivery.
        return WebhookResult(outcome="duplicate", event_id=event_id, event_type=event_type)
    if mail_to is not None:
        await _send_payment_failed_mail(
            email=mail_to[0], name=mail_to[1], invoice_url=plan.invoice_url, settings=settings
        )
    return WebhookResult(outcome="processed", event_id=event_id, event_type=event_type, detail=detail)


async def _send_payment_failed_mail(*, email: str, name: str, invoice_url: str | None, settings: Settings) -> None:
    from pixora_ui import mail

    greeting = f"Hi {name}," if name else "Hello,"
    lines = [
        greeting,
        "",
        "the last payment for your Pixora Pro subscription did not go through.",
        "Stripe will try again over the next days; to keep Pro, please update your card:",
        f"{settings.base_url}/billing  (Manage subscription)",
    ]
    if invoice_url:
        lines += ["", f"You can also pay the open invoice directly: {invoice_url}"]
    lines += ["", "— Pixora"]
    try:
        await mail.send_mail(to=email, subject="Your Pixora payment failed", text="\n".join(lines))
    except Exception:
        # The warning banner is already stored; a mail failure must not make Stripe redeliver the event.
        log.exception("payment-failed mail to user could not be sent")
