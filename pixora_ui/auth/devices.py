"""Known devices: a signed cookie set at every successful sign-in, naming the account it signed in.

A browser that carries it for an account passes that account's ceiling of failed attempts (the
owner is never locked out by strangers guessing); it proves nothing else, so it is not a session.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.responses import Response

from pixora_ui.settings import get_settings

DEVICE_COOKIE = "pixora_device"
DEVICE_MAX_AGE_S = 365 * 24 * 3600


def _sign(payload: str) -> str:
    key = hashlib.sha256(b"pixora-device:" + get_settings().session_secret.encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:40]


def issue(user_id: int, *, now: float | None = None) -> str:
    payload = f"{user_id}.{int(now if now is not None else time.time())}"
    return f"{payload}.{_sign(payload)}"


def is_known(token: str | None, *, user_id: int) -> bool:
    if not token or len(token) > 100:
        return False
    payload, _, signature = token.rpartition(".")
    owner, _, issued = payload.partition(".")
    if not hmac.compare_digest(_sign(payload), signature) or owner != str(user_id) or not issued.isdigit():
        return False
    return time.time() - int(issued) < DEVICE_MAX_AGE_S


def set_device_cookie(response: Response, user_id: int) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        issue(user_id),
        max_age=DEVICE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
    )
