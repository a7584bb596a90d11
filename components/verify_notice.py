"""The notice for an unconfirmed address: how to get the free edits, and the link sent again."""

from __future__ import annotations

from nicegui import ui

from pixora_ui.auth import verify
from pixora_ui.auth.errors import AccountError
from pixora_ui.settings import get_settings


def create(*, user_id: int, email: str) -> None:
    with ui.column().classes("w-full gap-2 rounded-xl p-3 bg-amber-50 dark:bg-amber-950/40").mark("verify-notice"):
        ui.label(
            f"Confirm your e-mail address to get your {get_settings().free_edit_limit} free AI edits: "
            f"open the link we sent to {email}. Simple edits (crop, rotate, resize) work already."
        ).classes("text-sm")

        async def resend() -> None:
            try:
                sent = await verify.resend(user_id=user_id)
            except AccountError as exc:
                ui.notify(str(exc), type="warning")
                return
            if sent:
                ui.notify(f"A new link is on its way to {email}.", type="positive")
            else:
                ui.notify("Your address is already confirmed. Reload the page to start editing.")

        ui.button("Send the link again", on_click=resend).props("outline dense no-caps").mark("resend-verification")
