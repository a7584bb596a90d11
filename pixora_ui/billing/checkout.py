"""What a person starts from the billing page: Stripe Checkout, the Customer Portal, and the
cancellation that deleting an account needs."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stripe import InvalidRequestError, StripeError

from db.models import PLAN_FREE, PLAN_PRO, User
from db.session import session_scope
from pixora_ui.billing.client import PaymentsNotConfiguredError, stripe_client
from pixora_ui.billing.errors import AlreadySubscribedError, BillingError, NoSubscriptionError, PaymentProviderError
from pixora_ui.billing.subscriptions import FREE_STATUSES, PRO_STATUSES, sync_team
from pixora_ui.services.plans import apply_plan
from pixora_ui.settings import get_settings

log = logging.getLogger(__name__)


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
        await sync_team(session, user)
    await session.flush()
