"""The billing status that pages show: plan, renewal, payment warning, and whether payments are on.

Everything here only reads the stored state (the webhooks in `billing/webhooks.py` write it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PLAN_FREE, User, as_utc
from db.session import session_scope
from pixora_ui.billing.client import PAYMENTS_OFF_REASON
from pixora_ui.billing.errors import BillingError
from pixora_ui.services.plans import PLAN_LABELS, Usage, usage_of
from pixora_ui.settings import Settings, get_settings

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
