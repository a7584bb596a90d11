"""Brush strokes with junk numbers are refused cleanly; smart-crop previews stay off the engine executor."""

from __future__ import annotations

from typing import Any

import pytest

from pixora_ui.engine.ops.masks import MaskError, Stroke
from pixora_ui.providers import local
from pixora_ui.services import previews
from pixora_ui.services import studio as facade
from tests.pages.conftest import make_user, sample_png


@pytest.mark.parametrize(
    "raw",
    [
        {"points": [[float("nan"), 1]]},
        {"points": [[1, float("inf")]]},
        {"points": [["abc", 1]]},
        {"points": [[None, 1]]},
        {"points": [[[1], 2]]},
        {"points": [[True, 1]]},
        {"points": [[1, 2]], "size": "huge"},
        {"points": [[1, 2]], "size": float("nan")},
        {"points": [[1, 2]], "size": {"a": 1}},
    ],
)
def test_malformed_numbers_are_mask_errors(raw: dict[str, Any]) -> None:
    with pytest.raises(MaskError):
        Stroke.from_raw(raw, width=100, height=80)


def test_numeric_strings_still_work() -> None:
    stroke = Stroke.from_raw({"points": [["10", "20.5"]], "size": "4"}, width=100, height=80)
    assert stroke.points == ((10.0, 20.5),) and stroke.size == 4.0


@pytest.mark.models
async def test_smart_crop_preview_runs_off_the_engine_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_engine() -> Any:
        raise AssertionError("a preview must not take an engine slot")

    monkeypatch.setattr(local, "engine_executor", no_engine)
    used: list[str] = []
    real_background = local.background_executor

    def background() -> Any:
        used.append("background")
        return real_background()

    monkeypatch.setattr(local, "background_executor", background)
    user_id = await make_user()
    card = await facade.upload_photo(user_id, data=sample_png(), filename="astronaut.png")
    box = await previews.smart_crop_preview(
        user_id, asset_id=card.id, params={"focus": "subject", "ratio": "16:9"}, width=card.width, height=card.height
    )
    assert box is not None
    assert used
