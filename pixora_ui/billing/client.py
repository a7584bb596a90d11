"""The Stripe client, built from settings.

One small factory so every call uses the same key, API base (a local fake in tests) and retry
policy. Each use gets its own async HTTP client, closed afterwards, so nothing is shared across
event loops and no connection is left open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from stripe import HTTPXClient, StripeClient

from pixora_ui.errors import PixoraError
from pixora_ui.settings import Settings, get_settings

PAYMENTS_OFF_REASON = (
    "Payments are not configured on this server, so plans cannot be bought here. "
    "Its administrator can change your plan."
)


class PaymentsNotConfiguredError(PixoraError, RuntimeError):
    """Stripe keys are missing: payments are off on this server."""

    status = 503
    code = "payments_not_configured"

    def __init__(self) -> None:
        super().__init__(PAYMENTS_OFF_REASON)


def make_client(settings: Settings, *, http_client: HTTPXClient | None = None) -> StripeClient:
    if not settings.stripe_enabled:
        raise PaymentsNotConfiguredError()
    return StripeClient(
        settings.stripe_secret_key,
        base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
        # Tests talk to a local fake that must see each request exactly once.
        max_network_retries=0 if settings.app_env == "test" else 2,
        http_client=http_client,
    )


@asynccontextmanager
async def stripe_client(settings: Settings | None = None) -> AsyncIterator[StripeClient]:
    """A client for async calls (`*_async` methods); its HTTP connections are closed on exit."""
    settings = settings or get_settings()
    http = HTTPXClient(timeout=30)
    try:
        yield make_client(settings, http_client=http)
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]
