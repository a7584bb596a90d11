"""The job panel's estimate of the time left (issue #18, item 2): one estimate, from the job's own pace."""

from __future__ import annotations

import pytest

from components.job_eta import Pace, eta_text, tool_message


def test_no_estimate_before_there_is_a_pace_to_measure() -> None:
    pace = Pace(started=0.0)
    assert pace.remaining(5.0) is None  # no progress yet
    pace.observe(0.02, 1.0)
    assert pace.remaining(1.5) is None  # too little progress, too early
    pace.observe(0.5, 1.8)
    assert pace.remaining(1.9) is None  # still under two seconds in
    assert pace.remaining(2.5) is not None


def test_a_steady_job_counts_down_to_its_real_end() -> None:
    pace = Pace(started=0.0)
    for second in range(1, 100):
        pace.observe(second / 100, float(second))
        remaining = pace.remaining(float(second))
        if second >= 5:
            assert remaining == pytest.approx(100 - second, abs=1.0)


def test_between_reports_the_estimate_counts_down() -> None:
    pace = Pace(started=0.0)
    pace.observe(0.5, 30.0)  # a two-tile job: half done after 30 s
    first = pace.remaining(30.0)
    assert first == pytest.approx(30.0)
    later = pace.remaining(40.0)
    assert later is not None and 15.0 < later < first


def test_a_stall_makes_the_estimate_grow_and_never_says_almost_done() -> None:
    """The reported case: "5 % · almost done" for 22 s."""
    pace = Pace(started=0.0)
    pace.observe(0.05, 0.2)  # a quick first step
    texts = []
    estimates = []
    for tenth in range(20, 240, 5):
        now = tenth / 10
        remaining = pace.remaining(now)
        estimates.append(remaining)
        texts.append(eta_text(pace.progress, remaining))
    assert "almost done" not in texts
    assert estimates[-1] is not None and estimates[-1] > 300  # 5 % in 24 s: minutes, not seconds
    assert estimates == sorted(estimates)  # while nothing moves, the time left only grows


def test_a_job_that_slows_down_is_caught_up_with() -> None:
    """The reported case: an estimate of 21 s for a job that took 167 s (quick start, slow rest)."""
    pace = Pace(started=0.0)
    for second in range(1, 11):  # half the progress in the first 10 s
        pace.observe(0.05 * second, float(second))
        pace.remaining(float(second))
    total = 167.0
    for second in range(11, 120):  # the other half over the remaining 157 s
        pace.observe(0.5 + 0.5 * (second - 10) / (total - 10), float(second))
        remaining = pace.remaining(float(second))
    assert remaining is not None
    assert remaining == pytest.approx(total - 119, rel=0.2)


def test_progress_never_goes_back() -> None:
    pace = Pace(started=0.0)
    pace.observe(0.6, 10.0)
    pace.observe(0.4, 11.0)  # a late, out-of-order report
    assert pace.progress == 0.6


@pytest.mark.parametrize(
    ("progress", "remaining", "text"),
    [
        (0.5, None, ""),
        (0.05, 1.0, "a few seconds left"),
        (0.89, 2.0, "a few seconds left"),
        (0.95, 2.0, "almost done"),
        (0.95, 12.4, "about 12 s left"),
        (0.5, 37.0, "about 35 s left"),
        (0.1, 200.0, "about 3 min left"),
    ],
)
def test_the_text(progress: float, remaining: float | None, text: str) -> None:
    assert eta_text(progress, remaining) == text


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Upscaling: tile 2 of 2, about 27 s left", "Upscaling: tile 2 of 2"),
        ("Upscaling: tile 1 of 9, about 2 min left", "Upscaling: tile 1 of 9"),
        ("Removing background…", "Removing background…"),
        ("Removing noise: tile 3 of 4", "Removing noise: tile 3 of 4"),
    ],
)
def test_the_tools_own_estimate_is_left_out(message: str, shown: str) -> None:
    assert tool_message(message) == shown
