"""Plain HTTP routes of the accounts feature: the ones that set or clear the HttpOnly session cookie.

NiceGUI pages run over a websocket and cannot set cookies, so a page that has checked a password
navigates to `/auth/session?ticket=…` (a 30-second, single-use ticket bound to this browser; see
pixora_ui/auth/tickets.py), and this route creates the database session, sets the cookie and
redirects to `next`. Sign-out works the same way in reverse through `/logout?ticket=…`; a bare
GET /logout never signs a live session out (that would be a cross-site forgery target) but shows a
button that POSTs, with the Origin check.

Every route that signs a browser in (the hand-over, the confirmation link, Google's callback) ends
in `invitations.after_sign_in`: a sign-in that comes from a team invitation joins the team there.
"""

from __future__ import annotations

import html
import logging

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.session import session_scope
from pixora_ui.auth import accounts, devices, google, invitations, tickets, verify
from pixora_ui.auth.current import current_user_from_token
from pixora_ui.auth.errors import GoogleSignInError
from pixora_ui.auth.redirects import safe_next
from pixora_ui.auth.sessions import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from pixora_ui.settings import get_settings
from pixora_ui.web.csrf import origin_allowed

log = logging.getLogger("pixora.auth")

_NEXT_KEY = "pixora_google_next"
CONFIRM_TTL_S = 600.0  # a person reads the sign-out confirmation before pressing its button
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=_NO_STORE)


async def _signed_in_response(
    request: Request, *, user_id: int, next_path: str, invitation: str | None = None
) -> Response:
    token = await accounts.start_session(
        user_id=user_id,
        user_agent=request.headers.get("user-agent", ""),
        ip=accounts.client_address(request),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    if token is None:
        return _redirect("/login?error=expired")
    # A sign-in that comes from a team invitation joins the team (the key came from a signed link
    # or the signed session cookie; the invited address is checked by the team service).
    target = await invitations.after_sign_in(
        request, user_id=user_id, next_path=safe_next(next_path), carried=invitation
    )
    response = _redirect(target)
    set_session_cookie(response, token)
    # This browser is now a known device of the account: strangers' failures never lock it out.
    devices.set_device_cookie(response, user_id)
    return response


async def session_handover(request: Request, ticket: str = "") -> Response:
    """Redeem a sign-in ticket from a page: set the session cookie, go on to `next`."""
    found = tickets.redeem(ticket, kind="sign_in", browser_id=accounts.browser_id(request))
    if found is None:
        return _redirect("/login?error=expired")
    return await _signed_in_response(request, user_id=found.user_id, next_path=found.next_path)


async def verify_email(request: Request, token: str = "") -> Response:
    """The link from the confirmation mail: confirm the address and sign this browser in (and join
    the team when the sign-up came from an invitation)."""
    confirmed = await verify.confirm_link(token)
    if confirmed is None:
        # Expired, forged, or already used: the address may well be confirmed; signing in tells.
        signed_in = await current_user_from_token(request.cookies.get(SESSION_COOKIE))
        return _redirect("/studio" if signed_in is not None else "/login?error=verify_used")
    return await _signed_in_response(
        request, user_id=confirmed.user_id, next_path="/studio", invitation=confirmed.invitation
    )


def _signed_out() -> Response:
    response = _redirect("/")
    clear_session_cookie(response)
    return response


_CONFIRM_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign out · Pixora</title>
<style>body{{font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;color:#1e1e2e}}
button{{background:#6d5efc;color:#fff;border:0;border-radius:8px;padding:10px 20px;font-size:16px;cursor:pointer}}
a{{color:#6d5efc}}</style></head><body><main style="text-align:center">
<h1>Sign out of Pixora?</h1><p>You are signed in as {email}.</p>
<form method="post" action="/logout"><input type="hidden" name="ticket" value="{ticket}">
<button type="submit">Sign out</button></form>
<p><a href="/studio">Back to the studio</a></p></main></body></html>"""


async def logout_get(request: Request, ticket: str = "") -> Response:
    """Finish a sign-out started by a page; without a valid ticket only a dead cookie is cleared."""
    token = request.cookies.get(SESSION_COOKIE)
    if tickets.redeem(ticket, kind="sign_out", browser_id=accounts.browser_id(request)) is not None:
        await accounts.sign_out(token=token)
        return _signed_out()
    user = await current_user_from_token(token)
    if user is None:
        return _signed_out()
    browser = accounts.browser_id(request)
    # The form carries a one-time ticket bound to this browser, so its POST is ours even when the
    # browser sends `Origin: null`; the page's referrer policy lets it send the real origin besides.
    ticket = (
        tickets.issue(kind="sign_out", user_id=0, browser_id=browser, next_path="/", ttl_s=CONFIRM_TTL_S)
        if browser
        else ""
    )
    page = _CONFIRM_PAGE.format(email=html.escape(user.email), ticket=html.escape(ticket))
    return HTMLResponse(page, headers={**_NO_STORE, "Referrer-Policy": "same-origin"})


_REFUSED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign out · Pixora</title></head>
<body style="font-family:system-ui,sans-serif;text-align:center;padding-top:15vh;color:#1e1e2e">
<h1>That sign-out did not come from Pixora</h1><p>Nothing was changed.</p>
<p><a href="/logout" style="color:#6d5efc">Sign out from here instead</a></p></body></html>"""


async def logout_post(request: Request) -> Response:
    ticket = ""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form(max_files=0, max_fields=4)
        value = form.get("ticket")
        ticket = value if isinstance(value, str) else ""
    from_our_page = bool(ticket) and (
        tickets.redeem(ticket, kind="sign_out", browser_id=accounts.browser_id(request)) is not None
    )
    if not from_our_page and not origin_allowed(request):
        # A person, not a script, lands here: a page that says what happened, never raw JSON.
        return HTMLResponse(_REFUSED_PAGE, status_code=403, headers=_NO_STORE)
    await accounts.sign_out(token=request.cookies.get(SESSION_COOKIE))
    return _signed_out()


async def google_start(request: Request, next: str = "") -> Response:
    if not get_settings().google_enabled:
        return _redirect("/login?error=google_off")
    request.session[_NEXT_KEY] = safe_next(next)
    try:
        return await google.authorize_redirect(request)
    except GoogleSignInError as exc:
        return _redirect(f"/login?error={exc.code}")


async def google_callback(request: Request) -> Response:
    next_path = safe_next(request.session.pop(_NEXT_KEY, None))
    try:
        identity = await google.identity_from_callback(request)
        async with session_scope() as session:
            user = await accounts.google_account(
                session,
                sub=identity.sub,
                email=identity.email,
                email_verified=identity.email_verified,
                name=identity.name,
                picture=identity.picture,
            )
            user_id = user.id
    except GoogleSignInError as exc:
        return _redirect(f"/login?error={exc.code}")
    log.info("account %s signed in with Google", user_id)
    return await _signed_in_response(request, user_id=user_id, next_path=next_path)


def register(app: FastAPI) -> None:
    app.add_api_route("/auth/session", session_handover, methods=["GET"], include_in_schema=False)
    app.add_api_route("/verify-email", verify_email, methods=["GET"], include_in_schema=False)
    app.add_api_route("/logout", logout_get, methods=["GET"], include_in_schema=False)
    app.add_api_route("/logout", logout_post, methods=["POST"], include_in_schema=False)
    app.add_api_route("/auth/google/start", google_start, methods=["GET"], include_in_schema=False)
    app.add_api_route(google.CALLBACK_PATH, google_callback, methods=["GET"], include_in_schema=False)
