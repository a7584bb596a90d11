"""A per-key token bucket: API_RATE_LIMIT requests a minute, in bursts of up to that many.

Kept in this process (Pixora serves from one process); a restart starts every bucket full.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

_MAX_BUCKETS = 20_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until one request is allowed again (0 when allowed)


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = max(1, per_minute)
        self._rate = self.per_minute / 60.0
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, *, now: float | None = None) -> Verdict:
        moment = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(moment)
            bucket = self._buckets[key] = _Bucket(tokens=float(self.per_minute), updated=moment)
        else:
            elapsed = max(0.0, moment - bucket.updated)
            bucket.tokens = min(float(self.per_minute), bucket.tokens + elapsed * self._rate)
            bucket.updated = moment
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict(allowed=True, limit=self.per_minute, remaining=int(bucket.tokens), retry_after=0)
        wait = max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
        return Verdict(allowed=False, limit=self.per_minute, remaining=0, retry_after=wait)

    def _forget_full(self, moment: float) -> None:
        """Drop buckets that have refilled completely: forgetting them changes nothing."""
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (moment - bucket.updated) * self._rate >= self.per_minute:
                del self._buckets[key]
        if len(self._buckets) >= _MAX_BUCKETS:
            self._buckets.clear()


_limiters: dict[int, RateLimiter] = {}


def limiter(per_minute: int) -> RateLimiter:
    """The process's limiter for this rate (a settings change in tests gets a fresh one)."""
    found = _limiters.get(per_minute)
    if found is None:
        _limiters.clear()
        found = _limiters[per_minute] = RateLimiter(per_minute)
    return found
