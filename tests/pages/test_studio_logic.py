"""Pure logic of the studio: history navigation, mask rasterisation, previews, download names."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import numpy as np
import pytest

from components.history_strip import History
from pixora_ui.engine.ops.masks import MaskError, Stroke, mask_png, rasterise_mask
from pixora_ui.services import media, previews, studio
from pixora_ui.services import studio as facade
from pixora_ui.services.studio import StudioError, VersionCard
from tests.pages.conftest import make_user, sample_png


def _version(vid: str, parent: str | None, tool: str | None, name: str = "My Photo.JPG") -> VersionCard:
    return VersionCard(
        id=vid,
        root_id="a",
        parent_id=parent,
        name=name,
        tool=tool,
        label=tool or "Original",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        width=100,
        height=80,
        mime="image/png",
        preview_url=f"/media/{vid}/preview",
        full_url=f"/media/{vid}",
    )


VERSIONS = [
    _version("a", None, None),
    _version("b", "a", "remove-bg"),
    _version("c", "b", "upscale"),
    _version("d", "a", "flip"),
]


def test_undo_walks_to_the_parent_and_redo_comes_back() -> None:
    history = History()
    history.load(list(VERSIONS), "c")
    assert history.undo() and history.current_id == "b"
    assert history.undo() and history.current_id == "a"
    assert not history.undo()
    assert history.redo() and history.current_id == "b"
    assert history.redo() and history.current_id == "c"
    # With no redo path, redo goes to the newest child.
    history.select("a")
    assert history.redo() and history.current_id == "d"
    assert not history.can_redo()


def test_new_result_clears_the_redo_path() -> None:
    history = History()
    history.load(list(VERSIONS), "c")
    history.undo()
    history.added("d")
    assert history.current_id == "d"
    assert history.undo() and history.current_id == "a"


def test_download_name_lists_the_tools_of_the_chain() -> None:
    assert studio.download_name(VERSIONS, "c", "png") == "my-photo-remove-bg-upscale.png"
    assert studio.download_name(VERSIONS, "a", "jpeg") == "my-photo.jpg"
    assert studio.download_name(VERSIONS, "d", "webp") == "my-photo-flip.webp"
    with pytest.raises(StudioError):
        studio.download_name(VERSIONS, "zzz", "png")


def test_download_url_is_signed_and_converts() -> None:
    url = studio.download_url(VERSIONS, "c", fmt="jpeg", quality=150)
    assert url.startswith("/media/c?") and "sig=" in url
    assert "download=my-photo-remove-bg-upscale.jpg" in url
    query = dict(parse_qsl(url.split("?", 1)[1]))
    assert query["format"] == "jpeg" and query["quality"] == "100"
    # The conversion is part of the signature: the same link cannot ask for another one. The studio's
    # links are also bound to the owner's session (`b=1`), which is signed too.
    assert query["b"] == "1"
    assert media.verify("c", "full", query["exp"], query["sig"], fmt="jpeg", quality="100", bound=True)
    assert not media.verify("c", "full", query["exp"], query["sig"], fmt="jpeg", quality="100")
    assert not media.verify("c", "full", query["exp"], query["sig"], fmt="png", quality="100", bound=True)
    assert not media.verify("c", "full", query["exp"], query["sig"], fmt="jpeg", quality="99", bound=True)
    assert not media.verify("c", "full", query["exp"], query["sig"], bound=True)
    with pytest.raises(StudioError):
        studio.download_url(VERSIONS, "c", fmt="gif")  # type: ignore[arg-type]


def test_mask_is_painted_from_strokes_and_the_eraser_removes_paint() -> None:
    brush = Stroke(points=((10.0, 10.0), (50.0, 10.0)), size=10)
    mask = np.asarray(rasterise_mask([brush], width=100, height=80))
    assert mask.shape == (80, 100)
    assert mask[10, 30] == 255 and mask[40, 30] == 0
    eraser = Stroke(points=((30.0, 10.0),), size=12, erase=True)
    mask = np.asarray(rasterise_mask([brush, eraser], width=100, height=80))
    assert mask[10, 30] == 0 and mask[10, 12] == 255
    with pytest.raises(MaskError):
        mask_png([eraser], width=100, height=80)


def test_strokes_from_the_browser_are_validated_and_clamped() -> None:
    stroke = Stroke.from_raw({"points": [[-500, 5], [50, 9999]], "size": 1e9, "erase": 0}, width=100, height=80)
    assert stroke.points == ((-100.0, 5.0), (50.0, 160.0))
    assert stroke.size == 100
    for bad in ({"points": []}, {"points": [[1, 2, 3]]}, {"points": "x"}):
        with pytest.raises(MaskError):
            Stroke.from_raw(bad, width=100, height=80)


def test_prompt_preview_shows_the_local_plan_or_what_is_needed() -> None:
    local = studio.preview_prompt("make it brighter and crop to square")
    assert local.runnable and local.local and local.text.startswith("Plan: ")
    generative = studio.preview_prompt("add a hat to the astronaut")
    assert not generative.runnable
    assert "Gemini" in generative.text or "generative" in generative.text


def test_every_registered_tool_has_a_card_with_cost() -> None:
    cards = studio.tool_cards()
    names = {c.name for c in cards}
    assert {"remove-bg", "erase", "crop", "expand"} <= names
    erase = next(c for c in cards if c.name == "erase")
    assert erase.cost_label == "1 AI edit"
    crop = next(c for c in cards if c.name == "crop")
    assert crop.cost_label == "Free"


@pytest.mark.models
async def test_smart_crop_preview_finds_the_box_on_the_small_preview() -> None:
    user_id = await make_user()
    card = await facade.upload_photo(user_id, data=sample_png(), filename="astronaut.png")
    box = await previews.smart_crop_preview(
        user_id, asset_id=card.id, params={"focus": "subject", "ratio": "9:16"}, width=card.width, height=card.height
    )
    assert box is not None
    x, y, w, h = box
    assert x >= 0 and x + w <= card.width and y == 0 and h == card.height
    assert abs(w / h - 9 / 16) < 0.02
    # Not valid yet (an exact width without a height): no preview rather than an error.
    assert (
        await previews.smart_crop_preview(
            user_id, asset_id=card.id, params={"width": 100}, width=card.width, height=card.height
        )
        is None
    )
