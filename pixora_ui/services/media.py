"""Signed media URLs: `/media/{asset}` links that work without a session until they expire.

The signature is an HMAC-SHA256 over (asset id, variant, expiry) with a key derived from the
session secret, so links cannot be forged or moved to another asset or variant. Expiries are
rounded up to a 5-minute step so the same image gets the same URL for a while and browsers can
reuse their cache.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from typing import Any, Literal
from urllib.parse import quote, urlencode

from pixora_ui.settings import get_settings

Variant = Literal["full", "preview"]
VARIANTS: tuple[str, ...] = ("full", "preview")
_STEP_S = 300


@cache
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"pixora-media-url-v1", hashlib.sha256).digest()


def _signature(asset_id: str, variant: str, exp: int, conversion: str = "", bound: bool = False) -> str:
    message = f"{asset_id}:{variant}:{exp}" + (f":{conversion}" if conversion else "") + (":bound" if bound else "")
    mac = hmac.new(_key(get_settings().session_secret), message.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")


def media_path(asset_id: str, variant: Variant = "full") -> str:
    """The owner-checked URL (works with the session cookie, no signature)."""
    return f"/media/{quote(asset_id)}" + ("/preview" if variant == "preview" else "")


def signed_url(
    asset_id: str,
    *,
    variant: Variant = "full",
    expires_in: int = 3600,
    download_name: str | None = None,
    fmt: str | None = None,
    quality: int | None = None,
    now: float | None = None,
    bound: bool = False,
) -> str:
    """A relative URL that serves the asset to anyone holding it until it expires.

    With `fmt` (png, jpeg, webp) and `quality`, it serves that conversion; both are signed, so
    the holder cannot ask for other conversions (each one costs the server work).
    `bound`: it serves only a browser signed in as the asset's owner (the studio's URLs), so it
    stops working at sign-out and is useless to anyone it leaks to."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    current = time.time() if now is None else now
    exp = math.ceil((current + max(1, expires_in)) / _STEP_S) * _STEP_S
    conversion = _conversion(fmt, None if quality is None else str(quality))
    query: dict[str, str | int] = {"exp": exp, "sig": _signature(asset_id, variant, exp, conversion, bound)}
    if bound:
        query["b"] = 1
    if fmt:
        query["format"] = fmt
    if quality is not None:
        query["quality"] = quality
    if download_name:
        query["download"] = download_name
    return f"{media_path(asset_id, variant)}?{urlencode(query)}"


def _conversion(fmt: str | None, quality: str | None) -> str:
    if not fmt and quality is None:
        return ""
    return f"format={(fmt or '').lower()};quality={quality or ''}"


def verify(
    asset_id: str,
    variant: str,
    exp: str | None,
    sig: str | None,
    *,
    fmt: str | None = None,
    quality: str | None = None,
    now: float | None = None,
    bound: bool = False,
) -> bool:
    """True when `sig` is this server's signature for the asset, variant and conversion (format and
    quality as given in the URL), and has not expired."""
    if not exp or not sig or variant not in VARIANTS or len(sig) > 64:
        return False
    try:
        expires = int(exp)
    except ValueError:
        return False
    if expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(_signature(asset_id, variant, expires, _conversion(fmt, quality), bound), sig)


# --- short-lived caches for media delivery -------------------------------------------------------------
# Asset rows are immutable except for the name and deletion, so media delivery may reuse a lookup
# for a few seconds; deleting or restoring an asset calls `forget` so it takes effect at once here.

_META_TTL_S = 10.0
_META_MAX = 4096
_BYTES_MAX = 64 * 1024 * 1024

_meta: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_bytes: OrderedDict[str, bytes] = OrderedDict()
_bytes_size = 0


def cached_meta(asset_id: str) -> Any | None:
    entry = _meta.get(asset_id)
    if entry is None:
        return None
    if entry[0] < time.monotonic():
        _meta.pop(asset_id, None)
        return None
    return entry[1]


def remember_meta(asset_id: str, value: Any) -> None:
    _meta[asset_id] = (time.monotonic() + _META_TTL_S, value)
    _meta.move_to_end(asset_id)
    while len(_meta) > _META_MAX:
        _meta.popitem(last=False)


def forget(asset_ids: Iterable[str]) -> None:
    """Drop cached lookups of these assets (after a delete, restore or rename)."""
    for asset_id in asset_ids:
        _meta.pop(asset_id, None)


def cached_bytes(key: str) -> bytes | None:
    data = _bytes.get(key)
    if data is not None:
        _bytes.move_to_end(key)
    return data


def remember_bytes(key: str, data: bytes) -> None:
    """Keep small, content-addressed files (previews) in memory; the key is the storage key."""
    global _bytes_size  # noqa: PLW0603 - one cache per process
    if key in _bytes or len(data) > _BYTES_MAX // 64:
        return
    _bytes[key] = data
    _bytes_size += len(data)
    while _bytes_size > _BYTES_MAX and _bytes:
        _old_key, old = _bytes.popitem(last=False)
        _bytes_size -= len(old)


def clear_caches() -> None:
    global _bytes_size  # noqa: PLW0603
    _meta.clear()
    _bytes.clear()
    _bytes_size = 0
