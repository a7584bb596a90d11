"""Ask for a password reset link (`/forgot-password`). The answer never reveals whether the email exists."""

from __future__ import annotations

from nicegui import ui

from components import theme
from components.frame import frame
from pages.login import auth_card
from pixora_ui.auth import reset

SENT_MESSAGE = (
    "If an account exists for that email, we've sent a link to reset the password. It works once, within one hour."
)


@ui.page("/forgot-password")
async def forgot_password_page() -> None:
    with frame("Reset your password"), auth_card("Reset your password", "We'll email you a link to choose a new one."):
        email = ui.input("Email").props("outlined type=email autocomplete=email").classes("w-full").mark("email")
        sent = ui.label(SENT_MESSAGE).classes("text-sm text-positive").mark("reset-sent")
        sent.set_visibility(False)

        async def submit() -> None:
            address = (email.value or "").strip()
            if not address:
                return
            button.disable()
            try:
                await reset.request_reset(email=address)
            finally:
                button.enable()
            sent.set_visibility(True)

        email.on("keydown.enter", submit)
        button = (
            ui.button("Send reset link", on_click=submit)
            .props("unelevated no-caps")
            .classes("w-full")
            .mark("reset-submit")
        )
        ui.link("Back to sign in", "/login").classes(f"text-sm no-underline {theme.MUTED}")
