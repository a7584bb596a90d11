"""A fake Google OpenID provider on a real local port, issuing real RS256-signed ID tokens.

Endpoints (the wire format Authlib's Starlette client speaks):
- `GET /.well-known/openid-configuration`: discovery document
- `GET /authorize`: remembers redirect_uri, nonce and the identity to issue, 302s back with `code`
  and the same `state`
- `POST /token`: HTTP Basic client auth (`client_secret_basic`), exchanges the code for
  `{access_token, token_type, expires_in, id_token}`
- `GET /jwks`: the public key set
- `GET /userinfo`: the claims for the bearer token

`fake.identity` is the person who "consents" next; `fake.tamper` breaks the next ID token on purpose
("wrong_nonce", "wrong_audience", "expired", "wrong_issuer", "bad_signature", "no_id_token").
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.asgi_server import serve_asgi

CLIENT_ID = "pixora-test-client.apps.example"
CLIENT_SECRET = "fake-google-client-secret"


@dataclass
class FakeOIDC:
    base_url: str = ""
    identity: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "google-sub-1",
            "email": "grace@example.com",
            "email_verified": True,
            "name": "Grace Hopper",
            "picture": "https://example.com/grace.png",
        }
    )
    tamper: str | None = None
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "fake-key-1"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    # --- endpoints -------------------------------------------------------------------------
    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "userinfo_endpoint": f"{self.base_url}/userinfo",
                "jwks_uri": f"{self.base_url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {
                "redirect_uri": q.get("redirect_uri", ""),
                "nonce": q.get("nonce"),
                "identity": dict(self.identity),
                "scope": q.get("scope", ""),
            }
        target = q.get("redirect_uri", "") + "?" + urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(target, status_code=302)

    def _client_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == CLIENT_ID and password == CLIENT_SECRET

    async def token(self, request: Request) -> Response:
        form = dict(await request.form())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        with self.lock:
            grant = self.codes.pop(str(form.get("code", "")), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, status_code=400)
        access_token = secrets.token_urlsafe(24)
        body: dict[str, Any] = {"access_token": access_token, "token_type": "Bearer", "expires_in": 3599}
        if self.tamper != "no_id_token":
            body["id_token"] = self._id_token(grant)
        return JSONResponse(body)

    def _id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            "nonce": grant["nonce"],
            **grant["identity"],
        }
        key = self.key
        if self.tamper == "wrong_nonce":
            claims["nonce"] = "not-the-nonce-" + secrets.token_hex(4)
        elif self.tamper == "wrong_audience":
            # A token Google issued to another app: both audience and authorised party name it.
            claims["aud"] = "someone-elses-client"
            claims["azp"] = "someone-elses-client"
        elif self.tamper == "expired":
            claims["iat"] = now - 7200
            claims["exp"] = now - 3600  # well past Authlib's 120 s leeway
        elif self.tamper == "wrong_issuer":
            claims["iss"] = "https://evil.example"
        elif self.tamper == "bad_signature":
            key = RSAKey.generate_key(2048, parameters={"kid": "fake-key-1"})
        return jwt.encode({"alg": "RS256", "kid": "fake-key-1"}, claims, key)

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def userinfo(self, request: Request) -> Response:
        return JSONResponse(dict(self.identity))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
                Route("/userinfo", self.userinfo),
            ]
        )


@contextmanager
def fake_oidc() -> Iterator[FakeOIDC]:
    fake = FakeOIDC()
    with serve_asgi(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake
