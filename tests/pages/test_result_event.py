"""A finished edit's event carries the new version; the studio adds it without re-listing (issue #21, item 3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from nicegui.testing import User

from pixora_ui.services import studio
from pixora_ui.services.job_views import JobView, from_wire, to_wire
from pixora_ui.services.version_labels import version_label
from tests.pages.test_studio_page import _apply, _canvas, _studio_with_photo


async def test_an_edit_is_added_from_its_event_without_listing_again(
    user: User, studio_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _studio_with_photo(user)
    calls: list[str] = []
    for name in ("library_for", "versions_of"):
        real = getattr(studio, name)

        async def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return await _real(*args, **kwargs)

        monkeypatch.setattr(studio, name, counted)
    first = _canvas(user).props["src"]
    _apply(user, "adjust")
    await user.should_see(marker="version-1", retries=80)
    await user.should_see("Invert: done", retries=20)
    assert calls == []  # neither the library nor the photo's versions were read again
    src = _canvas(user).props["src"]
    assert src != first and src.startswith("/media/") and "sig=" in src
    assert _canvas(user).props["before"] == first.replace("/preview", "")
    row = user.find(marker="photo-0").elements.pop()
    assert "1 edit" in "".join(child.text for child in row.descendants() if hasattr(child, "text"))
    user.find(marker="undo").click()
    assert _canvas(user).props["src"] == first


def test_the_result_travels_between_processes() -> None:
    result = {
        "id": "b" * 32,
        "root_id": "a" * 32,
        "parent_id": "a" * 32,
        "name": "astronaut.png",
        "tool": "adjust",
        "created_at": datetime(2026, 12, 7, tzinfo=UTC).isoformat(),
        "width": 256,
        "height": 256,
        "mime": "image/png",
        "public": False,
    }
    view = JobView(
        id="j" * 32,
        user_id=1,
        tool="adjust",
        tool_label="Invert",
        status="succeeded",
        progress=1.0,
        message="Done",
        error=None,
        eta_seconds=None,
        queue_position=None,
        result_asset_id="b" * 32,
        input_asset_id="a" * 32,
        credit_state="none",
        provider="local",
        created_at=datetime(2026, 12, 7, tzinfo=UTC),
        result=result,
    )
    back = from_wire(to_wire(view))
    assert back.result == result
    card = studio.result_card(back)
    assert card is not None and card.parent_id == "a" * 32 and card.label == version_label("adjust", back.params)
    assert card.preview_url.startswith(f"/media/{'b' * 32}") and card.full_url != card.preview_url
