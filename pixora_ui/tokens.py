"""Secret tokens handed to a person (session cookies, reset and invitation links) are stored only as
digests, so a copy of the database lets no one sign in or accept an invitation."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256. The tokens are 256 random bits, so a salt or a slow
    hash (as for passwords) would add nothing."""
    return hashlib.sha256(token.encode()).hexdigest()
