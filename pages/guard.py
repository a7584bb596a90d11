"""Page protection: anonymous visitors go to `/login?next=<path>` and come back after sign-in.

Usage in a page::

    @ui.page('/billing')
    async def billing(request: Request):
        user = await signed_in(request)
        if isinstance(user, RedirectResponse):
            return user
        with frame('Billing', viewer=viewer_of(user)):
            ...
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from components.frame import Viewer
from pixora_ui.auth.current import CurrentUser, current_user
from pixora_ui.auth.redirects import login_url


async def signed_in(request: Request) -> CurrentUser | RedirectResponse:
    """The signed-in user, or a redirect to the sign-in page that leads back here."""
    user = await current_user(request)
    if user is not None:
        return user
    path = request.url.path
    if request.url.query:
        path = f"{path}?{request.url.query}"
    return RedirectResponse(login_url(path), status_code=303)


def viewer_of(user: CurrentUser) -> Viewer:
    usage = user.usage
    return Viewer(
        name=user.name,
        email=user.email,
        plan_label=usage.plan_label,
        usage_label=usage.label,
        avatar_url=user.avatar_url,
    )
