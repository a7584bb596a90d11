"""The Stripe webhook reads its body with a cap, also when it comes chunked (no Content-Length)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from nicegui.testing import User

from pixora_ui.web.billing_routes import MAX_WEBHOOK_BYTES

URL = "/api/webhooks/stripe"


async def test_chunked_webhook_body_over_the_cap_is_refused(user: User) -> None:
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(64):
            sent.append(64 * 1024)
            yield b"{" * (64 * 1024)

    response = await user.http_client.post(URL, content=body(), headers={"stripe-signature": "t=1,v1=x"})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert sum(sent) <= MAX_WEBHOOK_BYTES + 128 * 1024  # stopped at the cap, not after 4 MB


async def test_declared_oversize_and_small_bodies(user: User) -> None:
    response = await user.http_client.post(URL, content=b"x" * (MAX_WEBHOOK_BYTES + 1))
    assert response.status_code == 413

    async def small() -> AsyncIterator[bytes]:
        yield b'{"id": "evt_1"}'

    response = await user.http_client.post(URL, content=small(), headers={"stripe-signature": "t=1,v1=x"})
    assert response.status_code in {400, 503}  # refused for its signature or missing config, not its size
