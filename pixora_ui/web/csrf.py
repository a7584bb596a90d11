"""Cross-site request forgery protection for state-changing plain HTTP routes.

Use as a FastAPI dependency: `dependencies=[Depends(check_origin)]` or `_: None = Depends(check_origin)`.

Rule: a POST/PUT/PATCH/DELETE is refused (403) when its `Origin` header (or, without one, its
`Referer`) names another site than this server, when `Origin` is the opaque "null", or when the
browser's `Sec-Fetch-Site` says "cross-site"/"same-site". Requests with none of these headers come
from non-browser clients (scripts, tests); browsers send `Origin` on every cross-origin POST, and the
session cookie is SameSite=Lax besides, so a forged browser request never gets through.
NiceGUI's own websocket events do not pass here: each needs the page's client id.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from pixora_ui.settings import get_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORBIDDEN = {"error": "forbidden", "message": "This request did not come from Pixora's own pages."}


def _netloc(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in {"http", "https"}:
        return ""
    return parts.netloc.lower()


def allowed_hosts(request: Request) -> set[str]:
    hosts = {_netloc(get_settings().base_url)}
    host = request.headers.get("host", "").lower()
    if host:
        hosts.add(host)
    hosts.discard("")
    return hosts


def origin_allowed(request: Request) -> bool:
    if request.method.upper() in SAFE_METHODS:
        return True
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and _netloc(origin) in allowed_hosts(request)
    referer = request.headers.get("referer")
    if referer:
        return _netloc(referer) in allowed_hosts(request)
    return request.headers.get("sec-fetch-site", "same-origin").lower() in {"same-origin", "none"}


async def check_origin(request: Request) -> None:
    """FastAPI dependency: 403 (JSON) for a state-changing request from another site."""
    if not origin_allowed(request):
        raise HTTPException(status_code=403, detail=_FORBIDDEN)
