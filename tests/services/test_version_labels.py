"""Version labels: what each edit did, from its tool and parameters, and the versions list using them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from db.models import JOB_SUCCEEDED, Job
from db.session import session_scope
from pixora_ui.services import assets, studio
from pixora_ui.services.version_labels import MAX_LABEL, browser_zone, version_label, version_time
from tests.pages.conftest import make_user, sample_png


@pytest.mark.parametrize(
    ("tool", "params", "label"),
    [
        (None, {}, "Original"),
        ("change-bg", {"background": "blur", "blur": 40}, "Blur 40"),
        ("change-bg", {"background": "color", "color": "#1A2B3C"}, "Colour #1a2b3c"),
        ("change-bg", {"background": "image", "image": "abc"}, "Photo background"),
        ("change-bg", {"background": "generative", "prompt": "a sunny beach"}, "“a sunny beach”"),
        ("upscale", {"scale": "4", "model": "quality"}, "4x quality"),
        ("upscale", {"scale": "2", "model": "fast"}, "2x fast"),
        ("smart-crop", {"focus": "subject", "ratio": "16:9", "width": 0, "height": 0}, "Crop 16:9"),
        ("smart-crop", {"focus": "face", "ratio": "1:1", "width": 400, "height": 300}, "Face crop 400×300"),
        ("crop", {"x": 10, "y": 10, "width": 800, "height": 600}, "Crop 800×600"),
        ("resize", {"width": 1024, "height": 0}, "Resize 1024 wide"),
        ("rotate", {"angle": 90.0}, "Rotate 90°"),
        ("flip", {"direction": "vertical"}, "Flip vertical"),
        ("convert", {"format": "webp", "quality": 80}, "WebP 80"),
        ("convert", {"format": "png", "quality": 90}, "PNG"),
        ("adjust", {"brightness": 20.0}, "Brightness +20"),
        ("adjust", {"brightness": 20.0, "contrast": -10.0, "sepia": True}, "Adjust (3 changes)"),
        ("adjust", {"black_white": True}, "Black & white"),
        ("remove-bg", {"mode": "pro", "output": "transparent"}, "Fine cut-out"),
        ("remove-bg", {"mode": "standard", "output": "mask"}, "Cut-out mask"),
        ("retouch", {"strength": 70}, "Retouch 70"),
        ("expand", {"aspect": "4:5", "mode": "content-aware"}, "Expand 4:5"),
        ("expand", {"aspect": "none", "mode": "generative"}, "Expand (AI)"),
        ("style", {"preset": "pencil-colour", "strength": 60}, "Pencil colour 60%"),
        ("prompt", {"prompt": "make it warmer"}, "“make it warmer”"),
        ("some-new-tool", {}, "Some new tool"),
    ],
)
def test_label_names_the_key_parameters(tool: str | None, params: dict[str, object], label: str) -> None:
    assert version_label(tool, params) == label


def test_long_prompts_are_cut_and_quotes_cannot_break_an_attribute() -> None:
    label = version_label("prompt", {"prompt": 'replace the "sky" with a dramatic sunset over the mountains'})
    assert len(label) <= MAX_LABEL and label.endswith("…”")
    assert '"' not in label


def test_time_is_short_today_and_dated_before() -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert version_time(datetime(2026, 12, 7, 14, 32), now=now) == "14:32 UTC"
    assert version_time(datetime(2026, 12, 5, 9, 5, tzinfo=UTC), now=now) == "5 Dec 09:05 UTC"
    assert version_time(datetime(2025, 3, 1, 9, 5, tzinfo=UTC), now=now) == "1 Mar 2025"


def test_time_is_in_the_viewers_zone_and_so_is_today() -> None:
    """Issue 18: 23:30 UTC is already tomorrow morning in Tokyo and still this afternoon in New York."""
    made = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    now = datetime(2026, 12, 8, 0, 10, tzinfo=UTC)
    assert version_time(made, now=now) == "7 Dec 23:30 UTC"  # no zone known yet: UTC, and it says so
    assert version_time(made, now=now, zone=ZoneInfo("Asia/Tokyo")) == "08:30"
    assert version_time(made, now=now, zone=ZoneInfo("America/New_York")) == "18:30"
    assert version_time(made, now=now, zone=ZoneInfo("Asia/Kathmandu")) == "05:15"  # UTC+05:45
    # The day before in the viewer's zone, though the same day in UTC.
    evening = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
    assert version_time(
        evening, now=datetime(2026, 12, 8, 15, 0, tzinfo=UTC), zone=ZoneInfo("America/Los_Angeles")
    ) == ("7 Dec 18:00")
    # Summer time where it applies on that date, not the offset of today.
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert version_time(summer, now=now, zone=ZoneInfo("Europe/Berlin")) == "1 Jul 14:00"
    assert version_time(made, now=now, zone=ZoneInfo("Europe/Berlin")) == "00:30"  # after midnight there, today
    # A naive time from SQLite is UTC.
    assert version_time(datetime(2026, 12, 7, 23, 30), now=now, zone=ZoneInfo("Asia/Tokyo")) == "08:30"
    # New Year's Eve in UTC is already this year in Tokyo: a time there, only a date in UTC.
    new_year = datetime(2025, 12, 31, 20, 0, tzinfo=UTC)
    assert version_time(new_year, now=now) == "31 Dec 2025"
    assert version_time(new_year, now=now, zone=ZoneInfo("Asia/Tokyo")) == "1 Jan 05:00"


def test_browser_zone_takes_the_name_else_the_offset_and_nothing_else() -> None:
    assert browser_zone("Asia/Kathmandu", -345) == ZoneInfo("Asia/Kathmandu")
    # A name this server does not know: the browser's offset now (minutes behind UTC, so -60 is UTC+1).
    assert browser_zone("Mars/Olympus_Mons", -60) == timezone(timedelta(hours=1))
    assert browser_zone(None, 300) == timezone(timedelta(hours=-5))
    assert browser_zone("Nowhere/Else", 0) == UTC
    # Not a zone name: never a path or anything else read from disk.
    assert browser_zone("../../etc/passwd") is None
    assert browser_zone("/etc/localtime") is None
    assert browser_zone("x" * 200) is None
    for offset in (True, "60", 10_000, float("nan"), None):
        assert browser_zone(None, offset) is None, offset


async def test_versions_list_labels_each_edit_with_its_parameters() -> None:
    """Five background changes no longer all read "Change background"."""
    user_id = await make_user()
    async with session_scope() as session:
        original = await assets.upload(session, owner_id=user_id, data=sample_png(size=64), filename="a.png")
    pixels = np.zeros((64, 64, 3), np.uint8)
    for blur in (10, 40):
        async with session_scope() as session:
            result = await assets.store_result(
                session, owner_id=user_id, parent_id=original.id, pixels=pixels, tool="change-bg"
            )
            session.add(
                Job(
                    user_id=user_id,
                    input_asset_id=original.id,
                    tool="change-bg",
                    params={"background": "blur", "blur": blur},
                    status=JOB_SUCCEEDED,
                    result_asset_id=result.id,
                )
            )
    versions = await studio.versions_of(user_id, original.id)
    assert [v.label for v in versions] == ["Original", "Blur 10", "Blur 40"]
