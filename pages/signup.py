"""Create an account (`/signup`): name, email and a password of at least 10 characters, or Google.

After a password sign-up the page answers "check your inbox" whether or not the address already had
an account (so the form tells nobody who has one); the link in the mail confirms the address and
signs the person in.

Coming from a team invitation (its key kept in the session by the invitation page), the form is
filled with the invited address and the link in the mail also joins the team. With another address
the account is made without the invitation, and the answer says so plainly.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components import theme
from components.frame import frame
from pages.login import auth_card, error_banner, google_button, show_error
from pixora_ui.auth import accounts, invitations
from pixora_ui.auth.current import current_user
from pixora_ui.auth.errors import AccountError
from pixora_ui.auth.passwords import MIN_LENGTH
from pixora_ui.auth.redirects import safe_next
from pixora_ui.services import teams
from pixora_ui.services.teams import InvitationInfo
from pixora_ui.settings import get_settings


@ui.page("/signup")
async def signup_page(request: Request, next: str = "") -> RedirectResponse | None:
    next_path = safe_next(next)
    if await current_user(request) is not None:
        return RedirectResponse(next_path, status_code=303)
    free = get_settings().free_edit_limit
    key = invitations.pending(request)
    invitation = await teams.invitation_info_by_key(key=key) if key else None
    if invitation is not None and invitation.expired:
        invitation = None
    subtitle = (
        f"Use {invitation.email} to join {invitation.team_name}."
        if invitation is not None
        else f"Free includes {free} AI edits."
    )
    with frame("Create your account"), auth_card("Create your account", subtitle) as card:
        banner = error_banner("signup-error")
        show_error(banner, "")
        name = ui.input("Name").props("outlined autocomplete=name maxlength=120").classes("w-full").mark("name")
        email = (
            ui.input("Email", value=invitation.email if invitation else "")
            .props("outlined type=email autocomplete=email")
            .classes("w-full")
            .mark("email")
        )
        password = (
            ui.input("Password", password=True, password_toggle_button=True)
            .props("outlined autocomplete=new-password")
            .classes("w-full")
            .mark("password")
        )
        ui.label(f"At least {MIN_LENGTH} characters.").classes(f"text-xs {theme.MUTED} -mt-3")

        async def submit() -> None:
            button.disable()
            try:
                await accounts.sign_up(
                    email=email.value or "",
                    password=password.value or "",
                    name=name.value or "",
                    address=accounts.client_address(request),
                    invitation=invitation.key if invitation else None,
                )
            except AccountError as exc:
                show_error(banner, str(exc))
                return
            finally:
                button.enable()
            _check_inbox(card, accounts.normalise_email(email.value or ""), invitation=invitation)

        password.on("keydown.enter", submit)
        button = (
            ui.button("Create account", on_click=submit)
            .props("unelevated no-caps")
            .classes("w-full")
            .mark("signup-submit")
        )
        with ui.row().classes("w-full text-sm gap-1"):
            ui.label("Already have an account?").classes(theme.MUTED)
            login = "/login" if next_path == "/studio" else f"/login?next={quote(next_path, safe='/')}"
            ui.link("Sign in", login).classes("text-primary no-underline").mark("to-login")
        google_button("Sign up with Google", next_path)
    return None


def _check_inbox(card: ui.column, address: str, *, invitation: InvitationInfo | None) -> None:
    card.clear()
    joins = invitation is not None and invitation.email == address
    with card:
        ui.label("Check your inbox").classes(f"text-2xl {theme.HEADING}").mark("signup-check-inbox")
        ui.label(f"We have sent a message to {address}.").classes("text-sm")
        if invitation is not None and joins:
            ui.label(
                f"Open the link in it to confirm your address: it signs you in and you join {invitation.team_name}."
            ).classes("text-sm").mark("signup-invitation-next")
        else:
            ui.label(
                f"Open the link in it to confirm your address: it signs you in, and your "
                f"{get_settings().free_edit_limit} free AI edits start right away."
            ).classes(f"text-sm {theme.MUTED}")
        if invitation is not None and not joins:
            ui.label(
                f"The invitation to {invitation.team_name} is for {invitation.email}, so this account does not "
                f"join the team. To join, create your account with {invitation.email}, or ask "
                f"{invitation.invited_by or 'the team owner'} to invite {address}."
            ).classes("text-sm text-negative").mark("signup-invitation-other-address")
        ui.label(
            "Nothing arrived after a few minutes? Look in the spam folder, or sign in and ask for a new link."
        ).classes(f"text-xs {theme.MUTED}")
        ui.link("Go to sign in", "/login").classes("text-primary no-underline text-sm").mark("to-login")
