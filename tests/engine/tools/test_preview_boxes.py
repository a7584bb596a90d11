"""The preview boxes tools describe (`Tool.preview_box`): crop's kept rectangle, expand's new canvas,
from raw form values; and the studio's lookup by tool name."""

from __future__ import annotations

from typing import Any

import pytest

from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import Tool
from pixora_ui.services import previews


def tool(name: str) -> Tool:
    return get_registry().get(name)


@pytest.mark.parametrize(
    ("params", "box"),
    [
        ({"x": 10, "y": 20, "width": 0, "height": 30}, (10, 20, 90, 30)),  # 0 = to the edge
        ({"x": "10", "y": "", "width": "500", "height": None}, (10, 0, 90, 80)),  # form text, clamped
        ({"x": 250, "y": -5, "width": 10, "height": 10}, (99, 0, 1, 10)),  # a start outside is pulled in
        ({"x": 0, "y": 0, "width": 0, "height": 0}, None),  # keeps everything: nothing to draw
        ({"x": "abc"}, None),
    ],
)
def test_crop_describes_the_rectangle_it_keeps(params: dict[str, Any], box: tuple[int, int, int, int] | None) -> None:
    assert tool("crop").preview_box(params, width=100, height=80) == box


def test_expand_describes_the_new_canvas() -> None:
    expand = tool("expand")
    margins = {"aspect": "none", "top": 10, "right": 0, "bottom": 0, "left": 50}
    assert expand.preview_box(margins, width=100, height=80) == (-50, -8, 150, 88)
    square = {"aspect": "1:1", "top": 0, "right": 0, "bottom": 0, "left": 0}
    assert expand.preview_box(square, width=100, height=80) == (0, -10, 100, 100)
    assert expand.preview_box({"aspect": "none"}, width=100, height=80) is None  # no margin yet
    assert expand.preview_box({"aspect": "7:3"}, width=100, height=80) is None  # not a ratio it knows


def test_tools_without_a_box_describe_none() -> None:
    assert tool("flip").preview_box({"direction": "horizontal"}, width=100, height=80) is None
    assert [t.name for t in get_registry().all() if t.preview_rule is not None] == ["crop", "expand"]


def test_the_studio_asks_the_tool_by_name() -> None:
    params = {"x": 10, "y": 20, "width": 0, "height": 30}
    assert previews.preview_box("crop", params, width=100, height=80) == (10, 20, 90, 30)
    assert previews.preview_box("no-such-tool", params, width=100, height=80) is None
    assert [n for n in ("crop", "expand", "smart-crop", "flip", "erase") if previews.shows_preview_box(n)] == [
        "crop",
        "expand",
        "smart-crop",
    ]
    assert not previews.shows_preview_box(None)
