"""Billing pages: `/billing` (plan, status, usage, manage or upgrade), `/billing/success` (waits for
Stripe's webhook instead of trusting the redirect) and `/billing/cancelled`."""

from __future__ import annotations

import time

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components import theme
from components.frame import frame
from components.upgrade_dialog import go_to_portal, plan_comparison, upgrade_button
from pages.guard import signed_in, viewer_of
from pixora_ui.billing.status import BillingStatus, billing_status_for, current_plan_for

SUCCESS_WAIT_S = 60.0
SUCCESS_POLL_S = 2.0


def _banner(icon: str, text: str, *, tone: str, marker: str) -> None:
    colours = {
        "warning": "bg-amber-50 text-amber-900 border-amber-200 dark:bg-amber-950/40 dark:text-amber-100",
        "info": "bg-sky-50 text-sky-900 border-sky-200 dark:bg-sky-950/40 dark:text-sky-100",
    }[tone]
    with ui.row().classes(f"w-full items-center gap-3 no-wrap rounded-xl border px-4 py-3 {colours}").mark(marker):
        ui.icon(icon, size="22px")
        ui.label(text).classes("text-sm")


def _usage_card(status: BillingStatus) -> None:
    usage = status.usage
    with ui.column().classes(f"{theme.CARD} p-5 gap-3 flex-1 min-w-[260px]").mark("usage-card"):
        ui.label("AI edits this period").classes(f"text-sm {theme.MUTED}")
        if usage.unlimited:
            ui.label("Unlimited").classes(f"text-2xl {theme.HEADING}").mark("usage-unlimited")
            ui.label(f"{usage.used} used so far").classes(f"text-sm {theme.MUTED}")
            return
        limit = usage.limit or 0
        ui.label(f"{min(usage.used, limit)} of {limit} used").classes(f"text-2xl {theme.HEADING}").mark("usage-count")
        ui.linear_progress(value=min(1.0, usage.used / limit) if limit else 1.0, show_value=False).props(
            f"rounded size=10px color={'negative' if usage.exhausted else 'primary'}"
        ).mark("usage-progress")
        ui.label(
            "You have used all your free AI edits." if usage.exhausted else f"{usage.remaining} left on the Free plan."
        ).classes(f"text-sm {theme.MUTED}")


def _plan_card(status: BillingStatus) -> None:
    with ui.column().classes(f"{theme.CARD} p-5 gap-3 flex-1 min-w-[260px]").mark("plan-card"):
        ui.label("Your plan").classes(f"text-sm {theme.MUTED}")
        ui.label(status.headline).classes(f"text-2xl {theme.HEADING}").mark("plan-headline")
        ui.label(f"Status: {status.status_label}").classes("text-sm").mark("subscription-status")
        if status.renewal_line:
            ui.label(status.renewal_line).classes(f"text-sm {theme.MUTED}").mark("renewal-line")
        with ui.row().classes("gap-3 mt-2 items-center"):
            if status.is_free:
                upgrade_button(payments_enabled=status.payments_enabled, reason=status.payments_reason)
            if status.can_manage:

                async def manage() -> None:
                    manage_button.props("loading")
                    try:
                        await go_to_portal()
                    finally:
                        manage_button.props(remove="loading")

                manage_button = (
                    ui.button("Manage subscription", icon="credit_card", on_click=manage)
                    .props("outline no-caps rounded")
                    .mark("manage-subscription")
                )
        if status.can_manage:
            ui.label("Change your card, see invoices or cancel in Stripe's customer portal.").classes(
                f"text-xs {theme.MUTED}"
            )


@ui.page("/billing")
async def billing_page(request: Request) -> RedirectResponse | None:
    user = await signed_in(request)
    if isinstance(user, RedirectResponse):
        return user
    status = await billing_status_for(user_id=user.id)
    with frame("Billing", viewer=viewer_of(user)), ui.column().classes(f"{theme.SECTION} py-10 gap-6"):
        ui.label("Billing").classes(f"text-3xl {theme.HEADING}")
        if status.payment_warning:
            _banner(
                "error_outline",
                "Your last payment did not go through. Update your card under “Manage subscription” to keep Pro; "
                "Stripe will try again over the next days.",
                tone="warning",
                marker="payment-warning",
            )
        if not status.payments_enabled:
            _banner("info", status.payments_reason, tone="info", marker="payments-off")
        with ui.row().classes("w-full gap-4 items-stretch"):
            _plan_card(status)
            _usage_card(status)
        if status.is_free:
            ui.label("Plans").classes(f"text-xl {theme.HEADING} mt-4")
            plan_comparison(current_plan=status.plan)
    return None


@ui.page("/billing/success")
async def billing_success_page(request: Request, session_id: str = "") -> RedirectResponse | None:
    user = await signed_in(request)
    if isinstance(user, RedirectResponse):
        return user
    # The redirect proves nothing: only Stripe's webhook changes the plan. Watch the plan for a while.
    with (
        frame("Payment received", viewer=viewer_of(user)),
        ui.column().classes(f"{theme.SECTION} py-16 items-center text-center gap-4"),
    ):
        waiting = ui.column().classes("items-center gap-3").mark("success-waiting")
        with waiting:
            ui.spinner(size="48px")
            ui.label("Confirming your payment with Stripe…").classes(f"text-2xl {theme.HEADING}")
            ui.label("This usually takes a few seconds. You can keep this page open.").classes(theme.MUTED)
        done = ui.column().classes("items-center gap-3").mark("success-done")
        done.set_visibility(False)
        with done:
            ui.icon("verified", size="56px").classes("text-primary")
            ui.label("You are on Pro now").classes(f"text-2xl {theme.HEADING}").mark("success-pro")
            ui.label("Unlimited AI edits are switched on. Thank you!").classes(theme.MUTED)
            with ui.row().classes("gap-3"):
                ui.button("Open the studio", on_click=lambda: ui.navigate.to("/studio")).props(
                    "unelevated no-caps rounded"
                )
                ui.button("Billing", on_click=lambda: ui.navigate.to("/billing")).props("outline no-caps rounded")
        late = ui.column().classes("items-center gap-3 max-w-[620px]").mark("success-late")
        late.set_visibility(False)
        with late:
            ui.icon("schedule", size="56px").classes("text-amber-500")
            ui.label("Still waiting for Stripe's confirmation").classes(f"text-2xl {theme.HEADING}")
            ui.label(
                "Your payment may still be processing. Pixora switches you to Pro as soon as Stripe confirms it, "
                "usually within a few minutes: check the billing page again shortly. If you were charged and "
                "still see the Free plan after an hour, contact the administrator of this server with the "
                "reference below."
            ).classes(theme.MUTED)
            if session_id.startswith("cs_") and len(session_id) <= 255:
                ui.label(f"Reference: {session_id}").classes("text-xs font-mono").mark("success-reference")
            ui.button("Go to billing", on_click=lambda: ui.navigate.to("/billing")).props("outline no-caps rounded")

        started = time.monotonic()

        async def check() -> None:
            plan = await current_plan_for(user_id=user.id)
            if plan != "free":
                timer.deactivate()
                waiting.set_visibility(False)
                done.set_visibility(True)
            elif time.monotonic() - started >= SUCCESS_WAIT_S:
                timer.deactivate()
                waiting.set_visibility(False)
                late.set_visibility(True)

        timer = ui.timer(SUCCESS_POLL_S, check, immediate=True)
    return None


@ui.page("/billing/cancelled")
async def billing_cancelled_page(request: Request) -> RedirectResponse | None:
    user = await signed_in(request)
    if isinstance(user, RedirectResponse):
        return user
    with (
        frame("Checkout cancelled", viewer=viewer_of(user)),
        ui.column().classes(f"{theme.SECTION} py-16 items-center text-center gap-4").mark("checkout-cancelled"),
    ):
        ui.icon("undo", size="56px").classes(theme.MUTED)
        ui.label("Checkout cancelled").classes(f"text-2xl {theme.HEADING}")
        ui.label("Nothing was charged. You can upgrade any time from the billing page.").classes(theme.MUTED)
        with ui.row().classes("gap-3"):
            ui.button("Back to billing", on_click=lambda: ui.navigate.to("/billing")).props(
                "unelevated no-caps rounded"
            )
            ui.button("Open the studio", on_click=lambda: ui.navigate.to("/studio")).props("outline no-caps rounded")
    return None
