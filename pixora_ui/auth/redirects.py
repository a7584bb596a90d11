"""Where to send a visitor after sign-in: only same-site relative paths, never another host."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

DEFAULT_AFTER_SIGN_IN = "/studio"


def safe_next(value: str | None, default: str = DEFAULT_AFTER_SIGN_IN) -> str:
    """`value` if it is a relative path on this site, else `default` (no open redirect)."""
    if not value or len(value) > 2000:
        return default
    # Browsers treat a backslash like a slash, so "/\\evil.com" would leave the site.
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def login_url(next_path: str | None) -> str:
    target = safe_next(next_path, "")
    return f"/login?next={quote(target, safe='/')}" if target else "/login"
