"""Stripe webhooks: verify a delivery, work out what it means, and apply it exactly once.

An event older than (or as old as) the stored state is answered by re-reading the subscription
from Stripe, and each event id is stored under a unique constraint in the same transaction as its
effect, so a duplicate delivery, even a concurrent one, changes nothing twice.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from stripe import SignatureVerificationError, StripeClient, StripeError, WebhookSignature

from db.models import StripeEvent
from db.session import session_scope
from pixora_ui import mail
from pixora_ui.billing.client import PaymentsNotConfiguredError, stripe_client
from pixora_ui.billing.subscriptions import (
    PRO_STATUSES,
    Subscription,
    Target,
    apply_subscription,
    fetch_subscription,
    find_user,
    id_of,
    int_or_none,
    snapshot,
    sync_team,
)
from pixora_ui.errors import PixoraError
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


@dataclass(kw_only=True, slots=True)
class _Plan:
    """What one event will do, worked out (network included) before the transaction opens."""

    target: Target
    subscription: Subscription | None = None
    payment_failed: bool = False
    invoice_url: str | None = None


async def _is_stale(target: Target, created: int, *, same_second_too: bool = True) -> bool:
    """Whether the stored state is newer than an event created at `created`.

    For subscription events a tie counts as stale too (Stripe sends several in the same second, and
    re-reading the subscription settles which came last).
    """
    async with session_scope() as session:
        user = await find_user(session, target)
        stored = None if user is None else user.subscription_synced_at
        if stored is None:
            return False
        return created <= stored if same_second_too else created < stored


async def _plan_event(client: StripeClient, event_type: str, obj: dict[str, Any], created: int) -> _Plan | None:
    if event_type == EVENT_CHECKOUT_COMPLETED:
        subscription_id = id_of(obj.get("subscription"))
        if obj.get("mode") != "subscription" or not subscription_id:
            return None
        metadata = obj.get("metadata") or {}
        target = Target(
            customer=id_of(obj.get("customer")),
            subscription_id=subscription_id,
            user_hint=int_or_none(obj.get("client_reference_id")) or int_or_none(metadata.get("user_id")),
        )
        # The session carries no subscription state (status, period): read it from Stripe.
        try:
            sub = await fetch_subscription(client, subscription_id)
        except StripeError as exc:
            if obj.get("payment_status") not in {"paid", "no_payment_required"}:
                raise
            # Paid, but Stripe is briefly unreachable: grant Pro now, the next event brings the details.
            log.warning("stripe subscription %s not fetched (%s); using the checkout session", subscription_id, exc)
            sub = Subscription(
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
        sub = snapshot(obj, as_of=created)
        target = Target(customer=sub.customer, subscription_id=sub.id, user_hint=sub.user_hint)
        if await _is_stale(target, created):
            sub = await fetch_subscription(client, sub.id)
        return _Plan(target=target, subscription=sub)
    if event_type == EVENT_PAYMENT_FAILED:
        parent = obj.get("parent") or {}
        subscription_id = id_of((parent.get("subscription_details") or {}).get("subscription"))
        target = Target(customer=id_of(obj.get("customer")), subscription_id=subscription_id, user_hint=None)
        plan = _Plan(target=target, payment_failed=True, invoice_url=obj.get("hosted_invoice_url"))
        if subscription_id and await _is_stale(target, created, same_second_too=False):
            # The subscription has moved on since this invoice: its current state decides the warning.
            plan.subscription = await fetch_subscription(client, subscription_id)
            plan.payment_failed = plan.subscription.status == "past_due"
        return plan
    return None


def _signed_at(signature: str) -> int | None:
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            return int_or_none(value)
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
            user = await find_user(session, plan.target, lock=True)
            if user is None:
                log.warning("stripe event %s (%s) matches no user", event_id, event_type)
                return WebhookResult(outcome="ignored", event_id=event_id, event_type=event_type, detail="no user")
            changed = False
            if plan.subscription is not None:
                changed = apply_subscription(user, plan.subscription, settings)
                if changed:
                    await sync_team(session, user)
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
