"""Billing HTTP routes: start Checkout, open the Customer Portal, receive Stripe webhooks.

- `POST /api/create-checkout-session` (signed in, Origin checked): `{"url": …}` as JSON, or a 303
  redirect to Stripe Checkout for a plain HTML form post.
- `POST /api/billing/portal` (signed in, Origin checked): the same for the Customer Portal.
- `POST /api/webhooks/stripe`: the raw body verified against `Stripe-Signature` (no cookie, no
  Origin: Stripe's servers call it). 400 for a bad or stale signature, 200 for everything accepted
  (also duplicates and unknown types), 503 while the subscription cannot be re-read from Stripe so
  that Stripe delivers the event again later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from stripe import StripeError

from pixora_ui.auth.current import current_user
from pixora_ui.billing.checkout import create_portal_session, start_checkout
from pixora_ui.billing.client import PaymentsNotConfiguredError
from pixora_ui.billing.errors import AlreadySubscribedError, BillingError, NoSubscriptionError
from pixora_ui.billing.webhooks import InvalidWebhookError, MalformedEventError, handle_event
from pixora_ui.web.csrf import check_origin
from pixora_ui.web.responses import NO_STORE, BodyTooLarge, error_from, json_error, read_capped

log = logging.getLogger("pixora.billing")

MAX_WEBHOOK_BYTES = 1024 * 1024  # Stripe events are a few kilobytes


def _wants_redirect(request: Request) -> bool:
    """A plain HTML form post (navigate the browser) rather than a fetch that reads JSON."""
    content_type = request.headers.get("content-type", "")
    accept = request.headers.get("accept", "")
    is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    return is_form and "application/json" not in accept


async def _start_redirect_flow(request: Request, make_url: Callable[[int], Awaitable[str]]) -> Response:
    user = await current_user(request)
    redirect = _wants_redirect(request)
    if user is None:
        if redirect:
            return RedirectResponse("/login?next=/billing", status_code=303)
        return json_error(401, "unauthorized", "Sign in first.")
    try:
        url = await make_url(user.id)
    except (AlreadySubscribedError, NoSubscriptionError) as exc:
        # A form post lands back on the billing page, which shows the plan as it is.
        return RedirectResponse("/billing", status_code=303) if redirect else error_from(exc)
    except (PaymentsNotConfiguredError, BillingError) as exc:
        return error_from(exc)
    if redirect:
        return RedirectResponse(url, status_code=303, headers=NO_STORE)
    return JSONResponse({"url": url}, headers=NO_STORE)


async def create_checkout_session(request: Request, _: None = Depends(check_origin)) -> Response:
    return await _start_redirect_flow(request, lambda user_id: start_checkout(user_id=user_id))


async def billing_portal(request: Request, _: None = Depends(check_origin)) -> Response:
    return await _start_redirect_flow(request, lambda user_id: create_portal_session(user_id=user_id))


async def stripe_webhook(request: Request) -> Response:
    # The exact bytes Stripe signed (never re-serialise), read with a cap.
    try:
        raw = await read_capped(request, MAX_WEBHOOK_BYTES)
    except BodyTooLarge:
        return json_error(413, "too_large", "Webhook body too large.")
    try:
        result = await handle_event(raw, request.headers.get("stripe-signature"))
    except MalformedEventError as exc:
        log.warning("stripe webhook refused (%s bytes from %s): %s", len(raw), _client(request), exc)
        return json_error(400, "invalid_event", "The webhook body is not a usable Stripe event.")
    except InvalidWebhookError as exc:
        log.warning("stripe webhook refused (%s bytes from %s): %s", len(raw), _client(request), exc)
        return json_error(400, "invalid_signature", "Webhook signature verification failed.")
    except PaymentsNotConfiguredError as exc:
        log.warning("stripe webhook received but payments are not configured on this server")
        return error_from(exc)
    except StripeError as exc:
        log.warning("stripe webhook could not re-read state from Stripe (%s); Stripe will retry", type(exc).__name__)
        return json_error(503, "retry_later", "Stripe could not be reached; deliver again later.")
    log.info("stripe event %s (%s): %s %s", result.event_id, result.event_type, result.outcome, result.detail)
    return JSONResponse({"received": True, "outcome": result.outcome}, headers=NO_STORE)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def register(app: FastAPI) -> None:
    app.add_api_route("/api/create-checkout-session", create_checkout_session, methods=["POST"])
    app.add_api_route("/api/billing/portal", billing_portal, methods=["POST"])
    app.add_api_route("/api/webhooks/stripe", stripe_webhook, methods=["POST"])
