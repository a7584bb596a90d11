"""The upgrade dialog (Free vs Pro) and the checkout / portal buttons shared with the billing page.

The studio opens it when a Free user reaches the limit::

    from components.upgrade_dialog import open_upgrade_dialog
    from pixora_ui.billing.status import payments_enabled

    enabled, reason = payments_enabled()
    open_upgrade_dialog(payments_enabled=enabled, reason=reason)

"Upgrade to Pro" POSTs to `/api/create-checkout-session` from the browser (the session cookie says
who; the Origin check applies) and then leaves for Stripe Checkout. When payments are off the button
is disabled and says why.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components import theme
from pixora_ui.catalog import PlanCard, plans

# Runs in the browser: a same-origin POST (so the browser adds Origin and the session cookie).
_POST_JS = """
return await fetch(%r, {method: 'POST', headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
  .then(async (r) => ({status: r.status, body: await r.json().catch(() => ({}))}))
  .catch(() => ({status: 0, body: {}}));
"""

_FALLBACK_ERROR = "The payment provider could not be reached. Please try again in a minute."


async def _post_for_url(path: str) -> None:
    """POST to one of the billing API routes and follow the URL it returns, or say what went wrong."""
    try:
        result: Any = await ui.run_javascript(_POST_JS % path, timeout=40)
    except TimeoutError:
        result = None  # the browser went away or never answered
    body = result.get("body", {}) if isinstance(result, dict) else {}
    status = result.get("status", 0) if isinstance(result, dict) else 0
    url = body.get("url") if isinstance(body, dict) else None
    if status == 200 and isinstance(url, str) and url.startswith(("https://", "http://")):
        ui.navigate.to(url)
        return
    if status == 401:
        ui.navigate.to("/login?next=/billing")
        return
    message = body.get("message") if isinstance(body, dict) else None
    ui.notify(message if isinstance(message, str) and message else _FALLBACK_ERROR, type="warning")


async def go_to_checkout() -> None:
    await _post_for_url("/api/create-checkout-session")


async def go_to_portal() -> None:
    await _post_for_url("/api/billing/portal")


def upgrade_button(*, payments_enabled: bool, reason: str = "", label: str = "Upgrade to Pro") -> ui.button:
    """The "Upgrade to Pro" button: starts Checkout, or is disabled with the reason beside it."""
    button = ui.button(label, icon="workspace_premium").props("unelevated no-caps rounded").mark("upgrade-button")

    async def clicked() -> None:
        button.props("loading")
        try:
            await go_to_checkout()
        finally:
            button.props(remove="loading")

    button.on_click(clicked)
    if not payments_enabled:
        button.disable()
        with button:
            ui.tooltip(reason)
        ui.label(reason).classes(f"text-sm {theme.MUTED} max-w-[420px]").mark("payments-off-reason")
    return button


def _plan_column(plan: PlanCard, *, current: bool) -> None:
    border = "border-2 border-primary" if plan.highlight else ""
    with ui.column().classes(f"{theme.CARD} {border} p-5 gap-2 flex-1 min-w-[220px]").mark(f"plan-{plan.key}"):
        with ui.row().classes("items-center gap-2"):
            ui.label(plan.name).classes(f"text-lg {theme.HEADING}")
            if current:
                ui.label("Current plan").classes("text-xs px-2 py-0.5 rounded-full bg-primary/10 text-primary")
        with ui.row().classes("items-baseline gap-1"):
            ui.label(plan.price).classes(f"text-3xl {theme.HEADING}")
            ui.label(plan.period).classes(f"text-sm {theme.MUTED}")
        ui.label(plan.tagline).classes(f"text-sm {theme.MUTED}")
        for feature in plan.features:
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.icon("check_circle", size="18px").classes("text-primary")
                ui.label(feature).classes("text-sm")


def plan_comparison(*, current_plan: str = "free") -> None:
    """Free and Pro side by side, from the product catalogue."""
    with ui.row().classes("w-full gap-4 items-stretch"):
        for plan in plans():
            if plan.key in {"free", "pro"}:
                _plan_column(plan, current=plan.key == current_plan)


def open_upgrade_dialog(*, payments_enabled: bool, reason: str = "", message: str = "") -> ui.dialog:
    """Open the upgrade dialog; `message` says why it opened (e.g. "You have used all your free AI edits.")."""
    with ui.dialog() as dialog, ui.card().classes("w-[680px] max-w-[95vw] p-6 gap-4").mark("upgrade-dialog"):
        with ui.row().classes("w-full items-center justify-between no-wrap"):
            ui.label("Upgrade to Pro").classes(f"text-2xl {theme.HEADING}")
            ui.button(icon="close", on_click=dialog.close).props("flat round dense").mark("upgrade-close")
        ui.label(message or "Unlimited AI edits with every tool.").classes(theme.MUTED).mark("upgrade-message")
        plan_comparison()
        with ui.row().classes("w-full items-center justify-end gap-3"):
            ui.button("Not now", on_click=dialog.close).props("flat no-caps")
            upgrade_button(payments_enabled=payments_enabled, reason=reason)
    dialog.on("hide", dialog.delete)
    dialog.open()
    return dialog
