"""Google sign-in through Authlib's OpenID Connect client (only when GOOGLE_CLIENT_ID/SECRET are set).

The discovery URL is a setting, so tests point it at a local fake provider. Authlib keeps state and
nonce in the signed Starlette session (NiceGUI's SessionMiddleware, SameSite=Lax) and verifies the
ID token: RS256 signature from the provider's JWKS, issuer, audience, expiry and nonce.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.responses import Response

from pixora_ui.auth.errors import GoogleSignInError
from pixora_ui.settings import get_settings

log = logging.getLogger("pixora.auth")

CALLBACK_PATH = "/auth/google/callback"


@dataclass(frozen=True, kw_only=True, slots=True)
class GoogleIdentity:
    sub: str
    email: str | None
    email_verified: bool
    name: str | None
    picture: str | None


@cache
def _oauth(client_id: str, client_secret: str, discovery_url: str) -> OAuth:
    oauth = OAuth()
    oauth.register(
        "google",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=discovery_url,
        client_kwargs={"scope": "openid email profile", "timeout": 15.0},
    )
    return oauth


def _client() -> Any:
    settings = get_settings()
    if not settings.google_enabled:
        raise GoogleSignInError("Google sign-in is not switched on for this server.", code="google_off")
    return _oauth(settings.google_client_id, settings.google_client_secret, settings.google_discovery_url).google


def reset_client() -> None:
    """Forget the cached client and its provider metadata (tests switch providers)."""
    _oauth.cache_clear()


def redirect_uri() -> str:
    return f"{get_settings().base_url}{CALLBACK_PATH}"


async def authorize_redirect(request: Request) -> Response:
    """The redirect to Google's consent screen (state and nonce go into the signed session)."""
    try:
        response: Response = await _client().authorize_redirect(request, redirect_uri())
    except GoogleSignInError:
        raise
    except Exception as exc:
        log.warning("google sign-in could not start: %s", type(exc).__name__)
        message = "Google sign-in is not reachable right now. Try again shortly."
        raise GoogleSignInError(message, code="google_unreachable") from exc
    return response


def _verified(value: object) -> bool:
    # Google sends a JSON boolean; some providers send the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


async def identity_from_callback(request: Request) -> GoogleIdentity:
    """Exchange the callback's code and return the verified ID-token claims, or raise GoogleSignInError."""
    try:
        token = await _client().authorize_access_token(request)
    except GoogleSignInError:
        raise
    except Exception as exc:  # state mismatch, bad signature, wrong audience or nonce, expiry, network
        # The reason names the failed check (claim, signature, state); it never contains the token.
        log.warning("google sign-in refused: %s: %s", type(exc).__name__, str(exc)[:200])
        raise GoogleSignInError("Google sign-in failed. Please try again.") from exc
    claims = token.get("userinfo") if isinstance(token, dict) else None
    if not claims or not claims.get("sub"):
        raise GoogleSignInError("Google sign-in failed. Please try again.")
    return GoogleIdentity(
        sub=str(claims["sub"]),
        email=str(claims["email"]) if claims.get("email") else None,
        email_verified=_verified(claims.get("email_verified")),
        name=str(claims["name"]) if claims.get("name") else None,
        picture=str(claims["picture"]) if claims.get("picture") else None,
    )
