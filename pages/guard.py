"""Page protection: anonymous visitors go to `/login?next=<path>` and come back after sign-in.

Usage in a page::

    @ui.page('/billing')
    async def billing(request: Request):
        user = await signed_in(request)
        if isinstance(user, RedirectResponse):
            return user
        with frame('Billing', viewer=viewer_of(user)):
            ...

An open page keeps its `CurrentUser` from page load; handlers that change something first call
`await still_signed_in(user.id)`, so a session revoked elsewhere (sign out everywhere, a password
change or reset) stops the page from acting for its user.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components.frame import Viewer
from pixora_ui.auth.current import CurrentUser, current_user
from pixora_ui.auth.invitations import take_notice
from pixora_ui.auth.redirects import login_url


def _here(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


async def signed_in(request: Request) -> CurrentUser | RedirectResponse:
    """The signed-in user, or a redirect to the sign-in page that leads back here. A one-time notice
    left at sign-in (e.g. "You joined …'s team") is shown on this page."""
    user = await current_user(request)
    if user is not None:
        if (notice := take_notice(request)) is not None:
            ui.notify(notice.text, type=notice.kind, timeout=8000)
        return user
    return RedirectResponse(login_url(_here(request)), status_code=303)


async def still_signed_in(expected_user_id: int) -> bool:
    """Re-check, in a page event handler, that the page's session is still valid and still belongs to
    `expected_user_id` (one query). If not, send the browser to sign in (back to this page) and return
    False: the caller must then do nothing."""
    request = ui.context.client.request
    user = await current_user(request)
    if user is not None and user.id == expected_user_id:
        return True
    ui.navigate.to(login_url(_here(request)))
    return False


def viewer_of(user: CurrentUser) -> Viewer:
    usage = user.usage
    return Viewer(
        name=user.name,
        email=user.email,
        plan_label=usage.plan_label,
        usage_label=usage.label,
        avatar_url=user.avatar_url,
    )
