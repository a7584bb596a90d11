"""The profile (`/profile`): name, email, avatar, sign-in methods, plan and usage, member since,
password change, "sign out everywhere", API keys (Developer) and account deletion."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components import theme
from components.api_keys import developer_section
from components.frame import avatar, frame
from pages.guard import signed_in, still_signed_in, viewer_of
from pages.login import error_banner, show_error
from pixora_ui.auth import accounts
from pixora_ui.auth.current import CurrentUser
from pixora_ui.auth.errors import AccountError
from pixora_ui.auth.passwords import MIN_LENGTH


def _section(title: str, marker: str) -> ui.column:
    column = ui.column().classes(f"{theme.CARD} w-full p-6 gap-3").mark(marker)
    with column:
        ui.label(title).classes(f"text-lg {theme.HEADING}")
    return column


@ui.page("/profile")
async def profile_page(request: Request) -> RedirectResponse | None:
    user = await signed_in(request)
    if isinstance(user, RedirectResponse):
        return user
    viewer = viewer_of(user)
    with frame("Profile", viewer=viewer), ui.column().classes(f"{theme.SECTION} max-w-[760px] py-10 gap-6"):
        with ui.row().classes("items-center gap-4 no-wrap"):
            avatar(viewer, 64)
            with ui.column().classes("gap-0"):
                ui.label(user.name or user.email).classes(f"text-2xl {theme.HEADING}").mark("profile-title")
                ui.label(f"Member since {user.created_at:%B %-d, %Y}").classes(f"text-sm {theme.MUTED}").mark(
                    "member-since"
                )
        _account_section(user)
        _plan_section(user)
        _password_section(user)
        _sessions_section(request, user)
        await developer_section(user.id, still_signed_in)
        _danger_section(request, user)
    return None


def _account_section(user: CurrentUser) -> None:
    with _section("Account", "account-section"):
        with ui.row().classes("w-full items-end gap-3 no-wrap"):
            name = (
                ui.input("Name", value=user.name).props("outlined maxlength=120").classes("flex-1").mark("profile-name")
            )

            async def save_name() -> None:
                if not await still_signed_in(user.id):
                    return
                try:
                    saved = await accounts.update_name(user_id=user.id, name=name.value or "")
                except AccountError as exc:
                    ui.notify(str(exc), type="negative")
                    return
                name.set_value(saved)
                ui.notify("Name saved", type="positive")

            ui.button("Save", on_click=save_name).props("unelevated no-caps").mark("save-name")
        ui.input("Email", value=user.email).props("outlined readonly").classes("w-full").mark("profile-email")
        ui.label("Sign-in methods").classes(f"text-sm {theme.MUTED} mt-2")
        with ui.row().classes("gap-2"):
            for enabled, icon, label in (
                (user.has_password, "password", "Password"),
                (user.has_google, "account_circle", "Google"),
            ):
                if enabled:
                    ui.chip(label, icon=icon).props("outline color=primary").mark(f"method-{label.lower()}")


def _plan_section(user: CurrentUser) -> None:
    usage = user.usage
    with _section("Plan and usage", "plan-section"):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label(usage.plan_label).classes(f"text-xl {theme.HEADING}").mark("plan-label")
            ui.button("Manage billing", on_click=lambda: ui.navigate.to("/billing")).props("flat no-caps")
        if usage.limit is None:
            ui.label(f"Unlimited AI edits · {usage.used} used so far").classes(theme.MUTED).mark("usage-text")
        else:
            ui.label(f"{usage.used} of {usage.limit} AI edits used").classes(theme.MUTED).mark("usage-text")
            fraction = min(1.0, usage.used / usage.limit) if usage.limit else 1.0
            ui.linear_progress(value=fraction, show_value=False, size="10px").props(
                "rounded color=negative" if usage.exhausted else "rounded color=primary"
            ).mark("usage-bar")


def _password_section(user: CurrentUser) -> None:
    title = "Change password" if user.has_password else "Set a password"
    with _section(title, "password-section"):
        banner = error_banner("password-error")
        show_error(banner, "")
        current = None
        if user.has_password:
            current = (
                ui.input("Current password", password=True)
                .props("outlined autocomplete=current-password")
                .classes("w-full")
                .mark("current-password")
            )
        new = (
            ui.input("New password", password=True, password_toggle_button=True)
            .props("outlined autocomplete=new-password")
            .classes("w-full")
            .mark("new-password")
        )
        ui.label(f"At least {MIN_LENGTH} characters. Other devices will be signed out.").classes(
            f"text-xs {theme.MUTED} -mt-2"
        )

        async def change() -> None:
            if not await still_signed_in(user.id):
                return
            button.disable()
            try:
                await accounts.change_password(
                    user_id=user.id,
                    current_password=(current.value if current else "") or "",
                    new_password=new.value or "",
                    keep_session_id=user.session_id,
                )
            except AccountError as exc:
                show_error(banner, str(exc))
                return
            finally:
                button.enable()
            show_error(banner, "")
            new.set_value("")
            if current is not None:
                current.set_value("")
            ui.notify("Password changed. Your other devices were signed out.", type="positive")

        button = ui.button(title, on_click=change).props("unelevated no-caps").mark("change-password")


def _sessions_section(request: Request, user: CurrentUser) -> None:
    with _section("Devices", "sessions-section"):
        ui.label("Signed in somewhere you don't recognise? Sign out of Pixora on every device, this one too.").classes(
            f"text-sm {theme.MUTED}"
        )

        async def everywhere() -> None:
            if not await still_signed_in(user.id):
                return
            await accounts.sign_out_everywhere(user_id=user.id)
            ui.navigate.to(await accounts.begin_sign_out(request))

        ui.button("Sign out everywhere", on_click=everywhere).props("outline no-caps").mark("sign-out-everywhere")


def _danger_section(request: Request, user: CurrentUser) -> None:
    with _section("Delete account", "delete-section"):
        ui.label(
            "Deletes your account, every photo and version, and cancels a paid subscription. This cannot be undone."
        ).classes(f"text-sm {theme.MUTED}")

        with ui.dialog() as dialog, ui.card().classes("p-6 gap-3 max-w-[440px]"):
            ui.label("Delete your account?").classes(f"text-lg {theme.HEADING}")
            ui.label(f"Type your email ({user.email}) to confirm.").classes(f"text-sm {theme.MUTED}")
            confirm = ui.input("Email").props("outlined").classes("w-full").mark("delete-confirm-email")
            password = None
            if user.has_password:
                password = (
                    ui.input("Your password", password=True, password_toggle_button=True)
                    .props("outlined autocomplete=current-password")
                    .classes("w-full")
                    .mark("delete-confirm-password")
                )
            banner = error_banner("delete-error")
            show_error(banner, "")

            async def delete() -> None:
                if (confirm.value or "").strip().lower() != user.email:
                    show_error(banner, "Type your email exactly to confirm.")
                    return
                if not await still_signed_in(user.id):
                    return
                delete_button.disable()
                try:
                    await accounts.confirm_identity(
                        user_id=user.id, session_id=user.session_id, password=password.value if password else ""
                    )
                    await accounts.delete_account(user_id=user.id)
                except AccountError as exc:
                    show_error(banner, str(exc))
                    delete_button.enable()
                    return
                dialog.close()
                ui.navigate.to(await accounts.begin_sign_out(request))

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                delete_button = (
                    ui.button("Delete my account", on_click=delete)
                    .props("unelevated no-caps color=negative")
                    .mark("delete-confirm")
                )

        ui.button("Delete account", on_click=dialog.open).props("outline no-caps color=negative").mark("delete-account")
