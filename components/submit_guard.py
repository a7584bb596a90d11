"""The studio's submit bookkeeping (plain state, no UI): one submit at a time per photo version and
tool, one idempotency key for a quick repeat of the same edit, and the last request for "Try again"."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

RESUBMIT_WINDOW_S = 5.0  # an identical apply this soon after reuses the idempotency key: one credit

Flight = tuple[str, str]  # (photo version, tool)


@dataclass(frozen=True)
class Request:
    """An edit as the user asked for it: what "Try again" repeats."""

    tool: str
    params: dict[str, Any]
    provider: str | None


@dataclass
class _Recent:
    fingerprint: str
    at: float
    key: str
    job_id: str | None = None


@dataclass
class SubmitGuard:
    last_request: Request | None = None
    _in_flight: set[Flight] = field(default_factory=set)
    _recent: _Recent | None = None  # the last submit

    def claim(self, version_id: str, tool: str) -> Flight | None:
        """Mark a submit for this version and tool as in flight; None when one already is.

        Keyboard shortcuts bypass the browser's click lock, so the page itself drops the second apply."""
        flight = (version_id, tool)
        if flight in self._in_flight:
            return None
        self._in_flight.add(flight)
        return flight

    def release(self, flight: Flight) -> None:
        self._in_flight.discard(flight)

    def key_for(self, asset_id: str, tool: str, params: dict[str, Any], provider: str | None) -> str:
        """The same key for the same edit of the same photo asked again within a few seconds (a double
        press): the server then answers with the first job instead of charging a second credit."""
        fingerprint = json.dumps([asset_id, tool, params, provider], sort_keys=True, default=str)
        now = time.monotonic()
        recent = self._recent
        if recent is not None and recent.fingerprint == fingerprint and now - recent.at < RESUBMIT_WINDOW_S:
            self._recent = _Recent(fingerprint, now, recent.key, recent.job_id)
        else:
            self._recent = _Recent(fingerprint, now, uuid.uuid4().hex)
        return self._recent.key

    def submitted(self, key: str, job_id: str) -> None:
        if self._recent is not None and self._recent.key == key:
            self._recent.job_id = job_id

    def ended(self, job_id: str, status: str) -> None:
        """Trying again after a failure or a cancel is a new job, so it gets a new key."""
        if status in {"failed", "cancelled"} and self._recent is not None and self._recent.job_id == job_id:
            self._recent = None
