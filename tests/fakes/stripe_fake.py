"""A fake Stripe API on a real local port, speaking Stripe's wire format to the real `stripe` SDK.

API (what Pixora calls), each request checked like Stripe would (or stricter):
- `POST /v1/checkout/sessions`: form-encoded with brackets (line_items[0][price], mode=subscription,
  client_reference_id, metadata[user_id], subscription_data[metadata][user_id], success/cancel URLs,
  exactly one of customer / customer_email), `Authorization: Bearer <key>`, `Stripe-Version`,
  `Idempotency-Key` (a replay with the same key returns the same session).
- `POST /v1/billing_portal/sessions` (customer, return_url).
- `GET /v1/subscriptions/{id}` and `DELETE /v1/subscriptions/{id}` (cancel now).
Errors come back as Stripe's `{"error": {...}}` JSON with the right status.

Hosted pages: `GET /checkout/{cs_id}` shows a "Pay" button; paying creates the customer and an
active subscription, delivers signed `checkout.session.completed` and
`customer.subscription.updated` webhooks to `webhook_url` and redirects to the success URL.
`GET /portal/{id}` links back to the return URL.

Tests can also build and sign events themselves: `fake.event(...)`, `fake.signed(...)`.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.asgi_server import serve_asgi

SECRET_KEY = "sk_test_pixora_fake_key"
WEBHOOK_SECRET = "whsec_pixora_fake_secret"
PRICE_PRO = "price_pro_monthly_test"
API_VERSION = stripe.api_version
PERIOD_S = 30 * 24 * 3600


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(8)}"


def _error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if param:
        body["param"] = param
    if code:
        body["code"] = code
    return JSONResponse({"error": body}, status_code=status, headers={"request-id": _new_id("req")})


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class Delivery:
    event_type: str
    status: int
    body: str


@dataclass
class FakeStripe:
    base_url: str = ""
    webhook_url: str = ""  # where the hosted checkout page delivers its webhooks
    secret_key: str = SECRET_KEY
    webhook_secret: str = WEBHOOK_SECRET
    price: str = PRICE_PRO
    requests: list[RecordedRequest] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    _idempotent: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- helpers for tests ---------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The settings that point Pixora at this fake."""
        return {
            "STRIPE_SECRET_KEY": self.secret_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_PRICE_PRO": self.price,
            "STRIPE_API_BASE": self.base_url,
        }

    def calls(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def add_subscription(
        self,
        *,
        customer: str | None = None,
        status: str = "active",
        user_id: int | None = None,
        cancel_at_period_end: bool = False,
        period_end: int | None = None,
    ) -> dict[str, Any]:
        now = int(time.time())
        customer = customer or _new_id("cus")
        self.customers.add(customer)
        sub_id = _new_id("sub")
        sub: dict[str, Any] = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": cancel_at_period_end,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "created": now,
            "livemode": False,
            "metadata": {"user_id": str(user_id)} if user_id is not None else {},
            "items": {
                "object": "list",
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
                "data": [
                    {
                        "id": _new_id("si"),
                        "object": "subscription_item",
                        "subscription": sub_id,
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": period_end or now + PERIOD_S,
                        "price": {"id": self.price, "object": "price", "recurring": {"interval": "month"}},
                    }
                ],
            },
        }
        self.subscriptions[sub_id] = sub
        return sub

    def update_subscription(self, sub_id: str, **changes: Any) -> dict[str, Any]:
        sub = self.subscriptions[sub_id]
        sub.update(changes)
        if changes.get("status") == "canceled":
            sub["canceled_at"] = sub["ended_at"] = int(time.time())
        return sub

    def event(self, event_type: str, obj: dict[str, Any], *, created: int | None = None) -> str:
        """A webhook body (JSON text) the way Stripe sends it."""
        return json.dumps(
            {
                "id": _new_id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": created if created is not None else int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": event_type,
                "data": {"object": obj},
            }
        )

    def sign(self, body: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
        return str(
            stripe.WebhookSignature.generate_signature_header(body, secret or self.webhook_secret, timestamp=timestamp)
        )

    def checkout_completed(self, session: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
        return {
            **session,
            "status": "complete",
            "payment_status": "paid",
            "customer": sub["customer"],
            "subscription": sub["id"],
            "customer_details": {"email": session.get("customer_email")},
        }

    def invoice_failed(self, sub: dict[str, Any], *, attempt_count: int = 1) -> dict[str, Any]:
        return {
            "id": _new_id("in"),
            "object": "invoice",
            "customer": sub["customer"],
            "status": "open",
            "attempt_count": attempt_count,
            "billing_reason": "subscription_cycle",
            "amount_due": 1200,
            "next_payment_attempt": int(time.time()) + 3 * 24 * 3600,
            "hosted_invoice_url": f"{self.base_url}/invoice/{sub['id']}",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "metadata": sub["metadata"]},
            },
        }

    def deliver(self, event_type: str, obj: dict[str, Any], *, url: str | None = None) -> Delivery:
        """Send one signed webhook to `url` (default: `webhook_url`), like Stripe's delivery."""
        body = self.event(event_type, obj)
        response = httpx.post(
            url or self.webhook_url,
            content=body.encode(),
            headers={"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": self.sign(body)},
            timeout=30,
        )
        delivery = Delivery(event_type=event_type, status=response.status_code, body=response.text)
        self.deliveries.append(delivery)
        return delivery

    # --- the API ------------------------------------------------------------------------
    async def _record(self, request: Request) -> RecordedRequest | JSONResponse:
        raw = (await request.body()).decode()
        form = dict(parse_qsl(raw, keep_blank_values=True))
        if request.method == "GET" and request.url.query:
            form.update(parse_qsl(request.url.query, keep_blank_values=True))
        recorded = RecordedRequest(request.method, request.url.path, dict(request.headers), form)
        self.requests.append(recorded)
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
                status_code=401,
            )
        if not request.headers.get("stripe-version"):
            return _error(400, "Stripe-Version header missing")
        if request.method == "POST":
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return _error(400, "Stripe expects a form-encoded body")
            if not request.headers.get("idempotency-key"):
                return _error(400, "Pixora must send an Idempotency-Key header")
        return recorded

    def _replay(self, request: Request, recorded: RecordedRequest) -> JSONResponse | None:
        key = request.headers.get("idempotency-key", "")
        previous = self._idempotent.get(key)
        if previous is None:
            return None
        if previous[0] != json.dumps(recorded.form, sort_keys=True):
            return _error(
                400, "Keys for idempotent requests can only be used with the same parameters", code="idempotency_error"
            )
        return JSONResponse(previous[1], headers={"idempotent-replayed": "true"})

    async def create_checkout_session(self, request: Request) -> Response:
        recorded = await self._record(request)
        if isinstance(recorded, Response):
            return recorded
        with self._lock:
            replay = self._replay(request, recorded)
            if replay is not None:
                return replay
            f = recorded.form
            checks = (
                ("mode", f.get("mode") == "subscription"),
                ("line_items[0][price]", f.get("line_items[0][price]") == self.price),
                ("line_items[0][quantity]", f.get("line_items[0][quantity]") == "1"),
                ("client_reference_id", bool(f.get("client_reference_id"))),
                ("metadata[user_id]", f.get("metadata[user_id]") == f.get("client_reference_id")),
                (
                    "subscription_data[metadata][user_id]",
                    f.get("subscription_data[metadata][user_id]") == f.get("client_reference_id"),
                ),
                ("success_url", "{CHECKOUT_SESSION_ID}" in f.get("success_url", "")),
                ("cancel_url", f.get("cancel_url", "").startswith("http")),
                ("customer", ("customer" in f) != ("customer_email" in f)),
            )
            for param, ok in checks:
                if not ok:
                    return _error(400, f"Invalid or missing parameter: {param}", param=param)
            if "customer" in f and f["customer"] not in self.customers:
                return _error(400, f"No such customer: '{f['customer']}'", param="customer", code="resource_missing")
            cs_id = _new_id("cs")
            session = {
                "id": cs_id,
                "object": "checkout.session",
                "mode": "subscription",
                "status": "open",
                "payment_status": "unpaid",
                "url": f"{self.base_url}/checkout/{cs_id}",
                "customer": f.get("customer"),
                "customer_email": f.get("customer_email"),
                "client_reference_id": f["client_reference_id"],
                "metadata": {"user_id": f["metadata[user_id]"]},
                "subscription": None,
                "success_url": f["success_url"],
                "cancel_url": f["cancel_url"],
                "livemode": False,
                "created": int(time.time()),
                "expires_at": int(time.time()) + 24 * 3600,
            }
            self.sessions[cs_id] = session
            self._idempotent[request.headers["idempotency-key"]] = (json.dumps(f, sort_keys=True), session)
        return JSONResponse(session, headers={"request-id": _new_id("req")})

    async def create_portal_session(self, request: Request) -> Response:
        recorded = await self._record(request)
        if isinstance(recorded, Response):
            return recorded
        f = recorded.form
        if f.get("customer") not in self.customers:
            return _error(400, f"No such customer: '{f.get('customer')}'", param="customer", code="resource_missing")
        if not f.get("return_url", "").startswith("http"):
            return _error(400, "Invalid URL: return_url", param="return_url")
        portal_id = _new_id("bps")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "customer": f["customer"],
            "return_url": f["return_url"],
            "url": f"{self.base_url}/portal/{portal_id}",
            "livemode": False,
            "created": int(time.time()),
        }
        self.portal_sessions[portal_id] = portal
        return JSONResponse(portal)

    async def subscription(self, request: Request) -> Response:
        recorded = await self._record(request)
        if isinstance(recorded, Response):
            return recorded
        sub_id = request.path_params["sub_id"]
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return _error(404, f"No such subscription: '{sub_id}'", param="id", code="resource_missing")
        if request.method == "DELETE":
            if sub["status"] == "canceled":
                return _error(
                    400, "This subscription is already canceled.", code="subscription_canceled"
                )  # pragma: no cover
            self.update_subscription(sub_id, status="canceled")
        return JSONResponse(sub)

    # --- hosted pages -------------------------------------------------------------------
    async def checkout_page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["cs_id"])
        if session is None:
            return HTMLResponse("<h1>Checkout session not found</h1>", status_code=404)
        who = html.escape(session.get("customer_email") or session.get("customer") or "")
        return HTMLResponse(
            f"""<!doctype html><html><head><title>Fake Stripe Checkout</title></head><body>
            <h1>Pixora Pro</h1><p>$12.00 per month</p><p>Customer: {who}</p>
            <form method="post" action="/checkout/{session["id"]}/pay">
              <button type="submit" id="pay">Pay</button></form>
            <a id="cancel" href="{html.escape(session["cancel_url"])}">Cancel</a>
            </body></html>"""
        )

    async def pay(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["cs_id"])
        if session is None or session["status"] != "open":
            return HTMLResponse("<h1>This checkout session is no longer open</h1>", status_code=400)
        sub = self.add_subscription(
            customer=session.get("customer") or None, user_id=int(session["metadata"]["user_id"])
        )
        session.update(self.checkout_completed(session, sub))
        # Stripe sends both; deliver from a worker thread so this event loop stays free.

        await asyncio.to_thread(self.deliver, "checkout.session.completed", dict(session))
        await asyncio.to_thread(self.deliver, "customer.subscription.updated", dict(sub))
        return RedirectResponse(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]), 303)

    async def portal_page(self, request: Request) -> Response:
        portal = self.portal_sessions.get(request.path_params["portal_id"])
        if portal is None:
            return HTMLResponse("<h1>Portal session not found</h1>", status_code=404)
        return HTMLResponse(
            f'<!doctype html><h1>Fake customer portal</h1><a id="return" href="{html.escape(portal["return_url"])}">'
            "Return to Pixora</a>"
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/checkout/sessions", self.create_checkout_session, methods=["POST"]),
                Route("/v1/billing_portal/sessions", self.create_portal_session, methods=["POST"]),
                Route("/v1/subscriptions/{sub_id}", self.subscription, methods=["GET", "DELETE"]),
                Route("/checkout/{cs_id}", self.checkout_page, methods=["GET"]),
                Route("/checkout/{cs_id}/pay", self.pay, methods=["POST"]),
                Route("/portal/{portal_id}", self.portal_page, methods=["GET"]),
            ]
        )


@contextmanager
def running_fake_stripe(*, webhook_url: str = "") -> Iterator[FakeStripe]:
    fake = FakeStripe(webhook_url=webhook_url)
    with serve_asgi(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake
