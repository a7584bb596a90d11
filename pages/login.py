"""Sign in (`/login`): email and password, or Google when it is configured.

The password is checked by a page handler; the HttpOnly cookie is then set by a plain route the
browser is sent to with a 30-second, single-use ticket bound to this browser (pixora_ui/auth/tickets.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components import theme
from components.frame import frame
from pixora_ui.auth import accounts
from pixora_ui.auth.current import current_user
from pixora_ui.auth.devices import DEVICE_COOKIE
from pixora_ui.auth.errors import AccountError
from pixora_ui.auth.redirects import safe_next
from pixora_ui.settings import get_settings

ERROR_MESSAGES = {
    "expired": "That sign-in took too long. Please try again.",
    "google_failed": "Google sign-in failed. Please try again.",
    "google_unverified": "Your Google email address is not verified, so it cannot be used to sign in.",
    "google_conflict": "This email is already linked to a different Google account.",
    "google_off": "Google sign-in is not switched on for this server.",
    "google_unreachable": "Google sign-in is not reachable right now. Try again shortly.",
    "verify_used": "That confirmation link has expired or was already used. Sign in to continue.",
}


@contextmanager
def auth_card(title: str, subtitle: str) -> Iterator[ui.column]:
    """The centred card every account page uses."""
    with ui.column().classes(f"{theme.SECTION} py-12 md:py-20 items-center"):
        with ui.column().classes(f"{theme.CARD} w-full max-w-[420px] p-7 gap-4") as card:
            with ui.column().classes("gap-1 w-full"):
                ui.label(title).classes(f"text-2xl {theme.HEADING}")
                ui.label(subtitle).classes(f"text-sm {theme.MUTED}")
            yield card


def error_banner(marker: str) -> ui.label:
    return (
        ui.label("")
        .classes("w-full text-sm text-negative bg-red-50 dark:bg-red-950/40 rounded-lg px-3 py-2")
        .mark(marker)
        .props('role="alert"')
    )


def show_error(label: ui.label, message: str) -> None:
    label.set_text(message)
    label.set_visibility(bool(message))


def google_button(label: str, next_path: str) -> None:
    if not get_settings().google_enabled:
        return
    with ui.row().classes("w-full items-center gap-2 no-wrap"):
        ui.separator().classes("flex-1")
        ui.label("or").classes(f"text-xs {theme.MUTED}")
        ui.separator().classes("flex-1")
    target = f"/auth/google/start?next={quote(next_path, safe='/')}"
    ui.button(label, icon="account_circle", on_click=lambda: ui.navigate.to(target)).props("outline no-caps").classes(
        "w-full"
    ).mark("google-sign-in")


@ui.page("/login")
async def login_page(request: Request, next: str = "", error: str = "") -> RedirectResponse | None:
    next_path = safe_next(next)
    if await current_user(request) is not None:
        return RedirectResponse(next_path, status_code=303)
    with frame("Sign in"), auth_card("Welcome back", "Sign in to continue editing."):
        banner = error_banner("login-error")
        show_error(banner, ERROR_MESSAGES.get(error, ""))
        email = ui.input("Email").props("outlined type=email autocomplete=email").classes("w-full").mark("email")
        password = (
            ui.input("Password", password=True, password_toggle_button=True)
            .props("outlined autocomplete=current-password")
            .classes("w-full")
            .mark("password")
        )

        async def submit() -> None:
            button.disable()
            try:
                user_id = await accounts.sign_in(
                    email=email.value or "",
                    password=password.value or "",
                    address=accounts.client_address(request),
                    device=request.cookies.get(DEVICE_COOKIE),
                )
            except AccountError as exc:
                show_error(banner, str(exc))
                password.set_value("")
                return
            finally:
                button.enable()
            ui.navigate.to(accounts.handover_url(request, user_id=user_id, next_path=next_path))

        password.on("keydown.enter", submit)
        button = (
            ui.button("Sign in", on_click=submit).props("unelevated no-caps").classes("w-full").mark("login-submit")
        )
        with ui.row().classes("w-full justify-between text-sm"):
            ui.link("Forgot your password?", "/forgot-password").classes("text-primary no-underline")
            signup = "/signup" if next_path == "/studio" else f"/signup?next={quote(next_path, safe='/')}"
            ui.link("Create an account", signup).classes("text-primary no-underline").mark("to-signup")
        google_button("Continue with Google", next_path)
    return None
