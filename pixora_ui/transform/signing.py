"""Signed transformation URLs, in ImageKit's scheme, so the official SDKs can sign Pixora links.

ImageKit signs `<the URL after the url_endpoint>` + `<expiry>` with HMAC-SHA1 keyed by the account's
private key, and appends `ik-t=<unix expiry>&ik-s=<40 hex>`. Pixora does the same with a signing key
derived from the app's secret (`signing_key()`): give that key to an SDK as `private_key`, with
`url_endpoint` set to `<BASE_URL>/ik`, and its signed URLs open private photos here. Pixora always
wants an expiry: a signature without `ik-t` is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import cache
from urllib.parse import quote

from pixora_ui.settings import get_settings

PREFIX = "/ik/"
_SIGNATURE_LEN = 40


@cache
def _derive(secret: str) -> str:
    return hmac.new(secret.encode(), b"pixora-transformation-url-signing-v1", hashlib.sha256).hexdigest()


def signing_key() -> str:
    """The private key that signs /ik URLs (derived from SESSION_SECRET; changes when it changes)."""
    return _derive(get_settings().session_secret)


def signature(relative: str, expires_at: int) -> str:
    """HMAC-SHA1 of the URL part after `/ik/` (path and query) followed by the expiry."""
    message = f"{relative}{expires_at}".encode()
    return hmac.new(signing_key().encode(), message, hashlib.sha1).hexdigest()


def unsigned_query(raw_query: str) -> str:
    """The query string as the signer saw it: without the ik-t and ik-s parameters."""
    return "&".join(part for part in raw_query.split("&") if part and not part.startswith(("ik-t=", "ik-s=")))


def relative_of(raw_path: str, raw_query: str) -> str:
    """`/ik/<path>?<query>` -> `<path>?<query>` without the signature parameters (what is signed)."""
    path = raw_path[len(PREFIX) :] if raw_path.startswith(PREFIX) else raw_path.lstrip("/")
    query = unsigned_query(raw_query)
    return f"{path}?{query}" if query else path


def verify(relative: str, expires: str | None, sig: str | None, *, now: float | None = None) -> bool:
    """True when `sig` signs `relative` with this server's key and the expiry has not passed."""
    if not expires or not sig or len(sig) != _SIGNATURE_LEN or not expires.isdigit() or len(expires) > 12:
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature(relative, int(expires)), sig.lower())


def signed_path(
    photo_id: str,
    *,
    name: str = "photo.jpg",
    transformation: str = "",
    expires_in: int = 3600,
    path_form: bool = False,
    now: float | None = None,
) -> str:
    """A root-relative, signed `/ik/…` URL for the photo (query form unless `path_form`)."""
    current = time.time() if now is None else now
    expires_at = int(current) + max(1, expires_in)
    file_part = f"{quote(photo_id, safe='')}/{quote(name, safe='')}"
    if transformation and path_form:
        relative = f"tr:{transformation}/{file_part}"
    elif transformation:
        relative = f"{file_part}?tr={transformation}"
    else:
        relative = file_part
    joiner = "&" if "?" in relative else "?"
    return f"{PREFIX}{relative}{joiner}ik-t={expires_at}&ik-s={signature(relative, expires_at)}"


def public_path(photo_id: str, *, name: str = "photo.jpg", transformation: str = "") -> str:
    """An unsigned `/ik/…` URL (works for public photos only)."""
    base = f"{PREFIX}{quote(photo_id, safe='')}/{quote(name, safe='')}"
    return f"{base}?tr={transformation}" if transformation else base
