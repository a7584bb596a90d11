"""`/team`: a shared subscription. Owners invite by e-mail; members get unlimited edits.

`/team/join?token=…` is where an invitation link lands. Someone not signed in is usually new to
Pixora, so that page offers sign-up first (and sign-in, and Google). It keeps the invitation's key
in the signed session cookie: the sign-in that follows (the confirmation link after a sign-up, a
password, Google) joins the team and lands in the studio (pixora_ui/auth/invitations.py). Signed in
with another address than the invited one, the page says so instead of offering to accept.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components import theme
from components.frame import frame
from pages.guard import signed_in, still_signed_in, viewer_of
from pages.login import google_button
from pixora_ui.auth import invitations
from pixora_ui.auth.accounts import begin_sign_out
from pixora_ui.auth.current import CurrentUser, current_user
from pixora_ui.services import teams
from pixora_ui.services.teams import TeamError, TeamView


@ui.page("/team")
async def team_page(request: Request) -> RedirectResponse | None:
    user = await signed_in(request)
    if isinstance(user, RedirectResponse):
        return user
    with frame("Team", viewer=viewer_of(user)):
        with ui.column().classes(f"{theme.SECTION} py-10 gap-6 max-w-[820px]"):
            ui.label("Team").classes(f"text-3xl {theme.HEADING}")
            ui.label(
                "One subscription for everybody: members get unlimited AI edits while the owner's Pro plan is active."
            ).classes(theme.MUTED)
            body = ui.column().classes("w-full gap-6")
    await _render(body, user)
    return None


async def _render(body: ui.column, user: CurrentUser) -> None:
    body.clear()
    team = await teams.load(user_id=user.id)
    with body:
        if team is None:
            _no_team(body, user)
        else:
            _team(body, user, team)


async def _attempt(action: Coroutine[Any, Any, object], success: str, body: ui.column, user: CurrentUser) -> None:
    if not await still_signed_in(user.id):
        action.close()  # never started: the session behind this page is gone
        return
    try:
        await action
    except TeamError as exc:
        ui.notify(str(exc), type="negative")
        return
    ui.notify(success, type="positive")
    await _render(body, user)


def _no_team(body: ui.column, user: CurrentUser) -> None:
    with ui.column().classes(f"{theme.CARD} p-6 gap-4 w-full").mark("no-team"):
        ui.label("Create a team").classes(f"text-xl {theme.HEADING}")
        paid = user.plan in teams.PAID_PLANS
        ui.label(
            "Invite up to 4 people by e-mail. They keep their own photos; the subscription is shared."
            if paid
            else "Teams share a Pro subscription. Upgrade to Pro, then invite your team here."
        ).classes(theme.MUTED)
        with ui.row().classes("items-end gap-3 w-full no-wrap max-sm:flex-wrap"):
            name = ui.input("Team name", placeholder="e.g. Acme Studio").props("outlined dense").classes("grow")
            name.mark("team-name")
            create = (
                ui.button(
                    "Create team",
                    on_click=lambda: _attempt(
                        teams.start_team(owner_id=user.id, name=name.value or ""), "Team created", body, user
                    ),
                )
                .props("unelevated no-caps")
                .mark("create-team")
            )
        if not paid:
            name.disable()
            create.disable()
            ui.button("See plans", on_click=lambda: ui.navigate.to("/billing")).props("outline no-caps")


def _team(body: ui.column, user: CurrentUser, team: TeamView) -> None:
    with ui.column().classes(f"{theme.CARD} p-6 gap-3 w-full").mark("team-card"):
        with ui.row().classes("items-center justify-between w-full"):
            ui.label(team.name).classes(f"text-xl {theme.HEADING}")
            ui.label(f"{len(team.members)} of {team.seats} seats").classes(
                "text-xs px-3 py-1 rounded-full bg-primary/10 text-primary font-medium"
            )
        for member in team.members:
            with ui.row().classes("items-center justify-between w-full py-2 border-t border-black/5"):
                with ui.column().classes("gap-0"):
                    ui.label(member.name or member.email).classes("font-medium")
                    ui.label(member.email).classes(f"text-xs {theme.MUTED}")
                with ui.row().classes("items-center gap-2"):
                    ui.label("Owner" if member.role == "owner" else "Member").classes(f"text-sm {theme.MUTED}")
                    if team.viewer_is_owner and member.id != user.id:
                        ui.button(
                            icon="person_remove",
                            on_click=lambda m=member: _attempt(
                                teams.remove(owner_id=user.id, member_id=m.id), f"{m.email} removed", body, user
                            ),
                        ).props("flat round dense").tooltip("Remove from team").mark(f"remove-{member.email}")
    if team.viewer_is_owner:
        _invitations(body, user, team)
        with ui.row().classes("w-full justify-end"):
            ui.button(
                "Delete team",
                on_click=lambda: _confirm(
                    "Delete the team? Members go back to the Free plan; their photos stay theirs.",
                    lambda: _attempt(teams.disband(owner_id=user.id), "Team deleted", body, user),
                ),
            ).props("flat no-caps color=negative").mark("delete-team")
    else:
        with ui.row().classes("w-full justify-end"):
            ui.button(
                "Leave team",
                on_click=lambda: _confirm(
                    "Leave the team? You go back to the Free plan; your photos stay yours.",
                    lambda: _attempt(teams.leave_team(user_id=user.id), "You left the team", body, user),
                ),
            ).props("flat no-caps color=negative").mark("leave-team")


def _invitations(body: ui.column, user: CurrentUser, team: TeamView) -> None:
    with ui.column().classes(f"{theme.CARD} p-6 gap-3 w-full").mark("invite-card"):
        ui.label("Invite people").classes(f"text-lg {theme.HEADING}")
        with ui.row().classes("items-end gap-3 w-full no-wrap max-sm:flex-wrap"):
            email = ui.input("E-mail address", placeholder="name@example.com").props("outlined dense type=email")
            email.classes("grow").mark("invite-email")
            invite = (
                ui.button(
                    "Send invitation",
                    on_click=lambda: _attempt(
                        teams.send_invitation(owner_id=user.id, email=email.value or ""),
                        f"Invitation sent to {(email.value or '').strip()}",
                        body,
                        user,
                    ),
                )
                .props("unelevated no-caps")
                .mark("send-invite")
            )
            if team.seats_left == 0:
                invite.disable()
        ui.label(
            f"{team.seats_left} seat{'s' if team.seats_left != 1 else ''} left · invitations are valid for "
            f"{teams.INVITATION_DAYS} days"
        ).classes(f"text-xs {theme.MUTED}")
        for invitation in team.invitations:
            with ui.row().classes("items-center justify-between w-full py-2 border-t border-black/5"):
                with ui.column().classes("gap-0"):
                    ui.label(invitation.email)
                    ui.label(f"Pending · expires {invitation.expires_at:%b %d}").classes(f"text-xs {theme.MUTED}")
                ui.button(
                    "Revoke",
                    on_click=lambda i=invitation: _attempt(
                        teams.cancel_invitation(owner_id=user.id, invitation_id=i.id),
                        "Invitation revoked",
                        body,
                        user,
                    ),
                ).props("flat no-caps dense")


def _confirm(question: str, action: object) -> None:
    with ui.dialog() as dialog, ui.card().classes("p-6 gap-4"):
        ui.label(question)
        with ui.row().classes("justify-end w-full"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")

            async def confirmed() -> None:
                dialog.close()
                await action()  # type: ignore[operator]

            ui.button("Confirm", on_click=confirmed).props("unelevated no-caps color=negative").mark("confirm")
    dialog.open()


def _gone(info: teams.InvitationInfo | None) -> None:
    ui.label(
        "This invitation has expired."
        if info is not None
        else "This invitation has already been used or does not exist."
    ).classes(theme.HEADING).mark("invite-gone")
    ui.label("Ask the person who invited you for a new one.").classes(theme.MUTED)


def _newcomer(info: teams.InvitationInfo | None, token: str) -> None:
    """The invitation for someone not signed in: create an account (or sign in), then the team."""
    back = f"/team/join?token={token}"
    with ui.column().classes(f"{theme.SECTION} py-16 items-center"):
        with ui.column().classes(f"{theme.CARD} p-8 gap-4 w-full max-w-[480px] items-center text-center"):
            ui.icon("group_add", size="48px").classes("text-primary")
            if info is None or info.expired:
                _gone(info)
                return
            ui.label(f"Join {info.team_name}").classes(f"text-2xl {theme.HEADING}").mark("invite-title")
            ui.label(
                f"{info.invited_by} invited {info.email} to share their Pixora plan: unlimited AI edits for "
                "everybody on the team. Create your account with that address to accept."
            ).classes(theme.MUTED)
            quoted = quote(back, safe="/")
            ui.button("Create an account", on_click=lambda: ui.navigate.to(f"/signup?next={quoted}")).props(
                "unelevated no-caps"
            ).classes("w-full").mark("invite-signup")
            with ui.row().classes("text-sm gap-1 justify-center"):
                ui.label("Already have one?").classes(theme.MUTED)
                ui.link("Sign in", f"/login?next={quoted}").classes("text-primary no-underline").mark("invite-login")
            google_button("Continue with Google", back)


def _wrong_address(info: teams.InvitationInfo, user: CurrentUser) -> None:
    """Signed in as somebody else: an invitation is only ever accepted by the address it was sent to."""
    ui.label(f"This invitation is for {info.email}").classes(f"text-xl {theme.HEADING}").mark("invite-wrong-address")
    ui.label(
        f"You are signed in as {user.email}, so you cannot accept it. To join {info.team_name}, sign out and "
        f"sign in (or create an account) with {info.email}, or ask {info.invited_by or 'the team owner'} "
        f"to invite {user.email} instead."
    ).classes(theme.MUTED)

    async def sign_out() -> None:
        ui.navigate.to(await begin_sign_out(ui.context.client.request))

    with ui.row().classes("gap-2 justify-center"):
        ui.button("Go to the studio", on_click=lambda: ui.navigate.to("/studio")).props("outline no-caps")
        ui.button("Sign out", on_click=sign_out).props("flat no-caps").mark("invite-sign-out")


@ui.page("/team/join")
async def join_page(request: Request, token: str = "") -> RedirectResponse | None:
    info = await teams.invitation_info(token=token) if token and len(token) <= 200 else None
    user = await current_user(request)
    if user is None:
        if info is not None and not info.expired:
            # The sign-in or sign-up that follows joins this team (its key, never the token or a team id).
            invitations.remember(request, info.key)
        with frame("Join a team"):
            _newcomer(info, token)
        return None
    with frame("Join a team", viewer=viewer_of(user)):
        with ui.column().classes(f"{theme.SECTION} py-16 items-center"):
            with ui.column().classes(f"{theme.CARD} p-8 gap-4 w-full max-w-[480px] items-center text-center"):
                ui.icon("group_add", size="48px").classes("text-primary")
                if info is None or info.expired:
                    _gone(info)
                    ui.button("Go to the studio", on_click=lambda: ui.navigate.to("/studio")).props("outline no-caps")
                    return None
                if info.email != user.email:
                    _wrong_address(info, user)
                    return None
                ui.label(f"Join {info.team_name}").classes(f"text-2xl {theme.HEADING}")
                ui.label(
                    f"{info.invited_by} invited {info.email}. Members get unlimited AI edits on the team's plan."
                ).classes(theme.MUTED)

                async def accept() -> None:
                    if not await still_signed_in(user.id):
                        return
                    try:
                        name = await teams.join(user_id=user.id, token=token)
                    except TeamError as exc:
                        ui.notify(str(exc), type="negative")
                        return
                    ui.notify(f"Welcome to {name}", type="positive")
                    ui.navigate.to("/team")

                ui.button("Accept invitation", on_click=accept).props("unelevated no-caps").mark("accept-invite")
    return None
