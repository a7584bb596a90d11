"""How long a running job has left, from its own measured pace. Pure: no UI, the caller passes the clock.

The pace is the progress made over the last `WINDOW_S` seconds of this job (the whole job while it
is younger), so a tool that slows down after a quick start is caught up with. Between progress
reports the estimate counts down for as long as the last step took; a longer silence is a stall,
which slows the measured pace, so the estimate grows instead of reaching "almost done". The result
is smoothed over time, so a single progress step does not make it jump.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

MIN_PROGRESS = 0.03  # below this the pace is mostly start-up cost: no estimate yet
MIN_ELAPSED_S = 2.0
WINDOW_S = 20.0
SMOOTHING_S = 3.0  # time constant of the smoothing
ALMOST_DONE_AT = 0.9  # "almost done" is never said before this much progress

# A tool's own "…, about 27 s left" in its progress message: the panel shows one estimate, its own.
_TOOL_ESTIMATE = re.compile(r"[,;·\s]*\(?\s*(about\s+)?\d+(\.\d+)?\s*(s|sec|seconds?|min|minutes?)\s+left\)?", re.I)


@dataclass
class Pace:
    """One running job, seen from the page: `observe` each progress report, ask `remaining` any time."""

    started: float  # clock value when the job was first seen running
    progress: float = 0.0
    _samples: list[tuple[float, float]] = field(default_factory=list)  # (time, progress), oldest first
    _estimate: float | None = None
    _estimated_at: float = 0.0

    def observe(self, progress: float, now: float) -> None:
        progress = min(1.0, max(0.0, progress))
        if progress <= self.progress:
            return  # a repeated or late report: progress never goes back
        self.progress = progress
        self._samples.append((now, progress))
        # Keep one sample older than the window: it is where the window's pace starts.
        while len(self._samples) > 1 and now - self._samples[1][0] >= WINDOW_S:
            self._samples.pop(0)

    def remaining(self, now: float) -> float | None:
        """Seconds left (smoothed), or None while there is too little to measure."""
        if self.progress < MIN_PROGRESS or now - self.started < MIN_ELAPSED_S:
            return None
        last_at = self._samples[-1][0]
        previous_at = self._samples[-2][0] if len(self._samples) > 1 else self.started
        gap = now - last_at
        if gap <= last_at - previous_at:
            # Sooner than the last step took: the next report is on its way, count down.
            raw = max(0.0, (1.0 - self.progress) / self._rate(last_at) - gap)
        else:
            # Longer than the last step took: a stall, which slows the measured pace.
            raw = (1.0 - self.progress) / self._rate(now)
        if self._estimate is None:
            estimate = raw
        else:
            predicted = max(0.0, self._estimate - (now - self._estimated_at))
            weight = 1.0 - math.exp(-max(0.0, now - self._estimated_at) / SMOOTHING_S)
            estimate = predicted + weight * (raw - predicted)
        self._estimate, self._estimated_at = estimate, now
        return estimate

    def _rate(self, now: float) -> float:
        """Progress per second over the window up to `now` (back to the job's start while it is shorter)."""
        since, base = self.started, 0.0
        for at, progress in self._samples:
            if now - at >= WINDOW_S:
                since, base = at, progress
        gained = self.progress - base
        if gained <= 0.0:  # no progress in the whole window: the job's pace so far, stall included
            since, gained = self.started, self.progress
        return gained / max(now - since, 1e-6)


def eta_text(progress: float, remaining: float | None) -> str:
    """ "about 40 s left", "about 3 min left"; "almost done" only near the end (never before 90 %)."""
    if remaining is None:
        return ""
    if remaining < 3:
        return "almost done" if progress >= ALMOST_DONE_AT else "a few seconds left"
    if remaining < 60:
        step = 5 if remaining > 20 else 1  # "about 35 s", not "about 37 s": it is an estimate
        return f"about {max(1, round(remaining / step) * step)} s left"
    return f"about {round(remaining / 60)} min left"


def tool_message(message: str) -> str:
    """The tool's progress text without a time estimate of its own."""
    return _TOOL_ESTIMATE.sub("", message).strip(" ,;·")
