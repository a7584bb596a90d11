"""Who is calling the public API: an API key in `Authorization: Bearer …` or `X-Api-Key`.

The key is rate-limited before the database is asked about it (per key, API_RATE_LIMIT a minute).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from pixora_ui.api import keys, ratelimit
from pixora_ui.api.errors import ApiError
from pixora_ui.api.keys import KeyOwner
from pixora_ui.settings import get_settings

# Declared for the OpenAPI document (the docs page's "Authorize" button); checked below.
_bearer = HTTPBearer(auto_error=False, description="Your API key: `Authorization: Bearer pix_live_…`")
_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="Your API key: `X-Api-Key: pix_live_…`")

MISSING_MESSAGE = "Send your API key in the Authorization header (Bearer pix_live_…) or in X-Api-Key."
INVALID_MESSAGE = "This API key is not valid. It may have been revoked."


class KeyMissing(LookupError):
    """The request carries no API key."""


class KeyInvalid(LookupError):
    """The key is unknown, malformed or revoked."""


class RateLimited(Exception):
    def __init__(self, verdict: ratelimit.Verdict) -> None:
        super().__init__("rate limited")
        self.verdict = verdict


def raw_key(request: Request) -> str | None:
    """The key a request carries, from either header (None when there is none)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    direct = request.headers.get("x-api-key", "").strip()
    return direct or None


def rate_check(raw: str) -> ratelimit.Verdict:
    return ratelimit.limiter(get_settings().api_rate_limit).take(keys.hash_key(raw))


def rate_headers(verdict: ratelimit.Verdict) -> dict[str, str]:
    headers = {"X-RateLimit-Limit": str(verdict.limit), "X-RateLimit-Remaining": str(verdict.remaining)}
    if not verdict.allowed:
        headers["Retry-After"] = str(verdict.retry_after)
    return headers


async def identify(request: Request) -> KeyOwner:
    """The key's owner; RateLimited, KeyMissing or KeyInvalid otherwise."""
    raw = raw_key(request)
    if raw is None:
        raise KeyMissing(MISSING_MESSAGE)
    verdict = rate_check(raw)
    if not verdict.allowed:
        raise RateLimited(verdict)
    owner = await keys.authenticate(raw)
    if owner is None:
        raise KeyInvalid(INVALID_MESSAGE)
    return owner


async def api_owner(
    request: Request,
    _bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _header_key: Annotated[str | None, Depends(_header)],
) -> KeyOwner:
    """FastAPI dependency of every /api/v1 route: the key's owner, or a 401 / 429 error."""
    try:
        return await identify(request)
    except RateLimited as exc:
        seconds = exc.verdict.retry_after
        raise ApiError(
            429,
            "rate_limited",
            f"Too many requests with this API key. Try again in {seconds} second{'s' if seconds != 1 else ''}.",
            headers=rate_headers(exc.verdict),
        ) from None
    except KeyMissing:
        raise ApiError(401, "missing_api_key", MISSING_MESSAGE, headers={"WWW-Authenticate": "Bearer"}) from None
    except KeyInvalid:
        raise ApiError(401, "invalid_api_key", INVALID_MESSAGE, headers={"WWW-Authenticate": "Bearer"}) from None
