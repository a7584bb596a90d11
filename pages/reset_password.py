"""Choose a new password from a reset link (`/reset-password?token=…`).

Using the link signs out every session of the account; this browser is then signed in afresh.
"""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from components import theme
from components.frame import frame
from pages.login import auth_card, error_banner, show_error
from pixora_ui.auth import accounts, reset
from pixora_ui.auth.errors import AccountError
from pixora_ui.auth.passwords import MIN_LENGTH


@ui.page("/reset-password")
async def reset_password_page(request: Request, token: str = "") -> None:
    with frame("Choose a new password"):
        if not await reset.token_is_valid(token):
            with auth_card("This link has expired", "Reset links work once, within one hour."):
                ui.label("This reset link is invalid, expired or already used.").classes(theme.MUTED).mark(
                    "reset-invalid"
                )
                ui.button("Ask for a new link", on_click=lambda: ui.navigate.to("/forgot-password")).props(
                    "unelevated no-caps"
                ).classes("w-full")
            return
        with auth_card("Choose a new password", "Every device signed in to your account will be signed out."):
            banner = error_banner("reset-error")
            show_error(banner, "")
            password = (
                ui.input("New password", password=True, password_toggle_button=True)
                .props("outlined autocomplete=new-password")
                .classes("w-full")
                .mark("new-password")
            )
            confirm = (
                ui.input("Repeat the new password", password=True)
                .props("outlined autocomplete=new-password")
                .classes("w-full")
                .mark("confirm-password")
            )
            ui.label(f"At least {MIN_LENGTH} characters.").classes(f"text-xs {theme.MUTED} -mt-3")

            async def submit() -> None:
                if (password.value or "") != (confirm.value or ""):
                    show_error(banner, "The two passwords are not the same.")
                    return
                button.disable()
                try:
                    user_id = await reset.reset_password(token=token, new_password=password.value or "")
                except AccountError as exc:
                    show_error(banner, str(exc))
                    return
                finally:
                    button.enable()
                ui.navigate.to(accounts.handover_url(request, user_id=user_id, next_path="/studio"))

            confirm.on("keydown.enter", submit)
            button = (
                ui.button("Set new password", on_click=submit)
                .props("unelevated no-caps")
                .classes("w-full")
                .mark("reset-password-submit")
            )
