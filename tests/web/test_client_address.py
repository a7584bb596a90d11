"""Item 2: the client address used for sign-in limits cannot be forged with X-Forwarded-For.

The app is served by uvicorn with `forwarded_allow_ips` from TRUSTED_PROXIES (main.py): its proxy
middleware takes the right-most address that a trusted hop reports, so a value the client wrote
itself (the left-most one) is ignored, and a direct client's header is ignored entirely.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pixora_ui.settings import SettingsError, load_settings


async def _seen_address(trusted: str, *, peer: str, forwarded: str | None) -> str:
    settings = load_settings(
        {"TRUSTED_PROXIES": trusted, "APP_ENV": "production", "SESSION_SECRET": "s" * 40}, dotenv=False
    )
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = ProxyHeadersMiddleware(app, trusted_hosts=settings.trusted_proxy_list)
    transport = httpx.ASGITransport(app=wrapped, client=(peer, 40000))
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://pixora.test") as client:
        await client.get("/", headers=headers)
    return seen[0]


async def test_a_forged_left_most_address_behind_the_proxy_is_ignored() -> None:
    # Render-like: the proxy connects from its private network and appends the address it saw.
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3"]:
        seen = await _seen_address("10.0.0.0/8", peer="10.1.2.3", forwarded=f"{forged}, 203.0.113.7")
        assert seen == "203.0.113.7"


async def test_a_direct_client_cannot_claim_an_address() -> None:
    assert await _seen_address("10.0.0.0/8", peer="198.51.100.4", forwarded="1.1.1.1") == "198.51.100.4"


async def test_several_trusted_hops_are_skipped() -> None:
    seen = await _seen_address("10.0.0.0/8, 172.16.0.5", peer="172.16.0.5", forwarded="9.9.9.9, 203.0.113.8, 10.4.4.4")
    assert seen == "203.0.113.8"


def test_trusting_every_proxy_is_refused_in_production() -> None:
    with pytest.raises(SettingsError, match="forge"):
        load_settings({"TRUSTED_PROXIES": "*", "APP_ENV": "production", "SESSION_SECRET": "s" * 40}, dotenv=False)
    with pytest.raises(SettingsError, match="forge"):
        load_settings({"FORWARDED_ALLOW_IPS": "*", "APP_ENV": "production", "SESSION_SECRET": "s" * 40}, dotenv=False)
    assert load_settings({"TRUSTED_PROXIES": "10.0.0.0/8"}, dotenv=False).trusted_proxy_list == ["10.0.0.0/8"]


def test_the_render_blueprint_names_its_proxy_network() -> None:
    blueprint = (Path(__file__).resolve().parents[2] / "render.yaml").read_text()
    assert 'value: "*"' not in blueprint
    assert "TRUSTED_PROXIES" in blueprint
