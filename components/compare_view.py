"""The studio canvas: fitted image, zoom and pan, before/after split, mask brush, crop/expand preview.

The pointer work happens in the browser (compare_view.js). Python only sets what to show (media
URLs, sizes, mode) and receives finished brush strokes as a handful of points in image pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments

from components.testids import tagged

CANVAS_CSS = """
.pixora-canvas { position: relative; overflow: hidden; width: 100%; height: 100%; touch-action: none;
  user-select: none; cursor: grab;
  background: radial-gradient(circle at 50% 40%, rgba(109,94,252,.06), transparent 70%); }
.pixora-canvas.is-panning { cursor: grabbing; }
.pixora-canvas.is-painting { cursor: none; }
.pixora-canvas-empty { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  cursor: default; padding: 16px; }
.pixora-stage { position: absolute; left: 0; top: 0; transform-origin: 0 0; will-change: transform;
  box-shadow: 0 10px 40px rgba(15, 15, 30, .18); }
.pixora-stage-layer { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.pixora-preview { filter: blur(2px); }
.pixora-mask { opacity: .55; pointer-events: none; }
.pixora-overlay { position: absolute; pointer-events: none; overflow: visible; }
.pixora-split { position: absolute; width: 2px; margin-left: -1px; background: #fff;
  box-shadow: 0 0 0 1px rgba(0,0,0,.15), 0 0 12px rgba(0,0,0,.35); cursor: ew-resize; }
.pixora-split-knob { position: absolute; top: 50%; left: 50%; width: 36px; height: 36px; margin: -18px 0 0 -18px;
  border-radius: 999px; background: #fff; color: #6d5efc; display: flex; align-items: center; justify-content: center;
  gap: 4px; font-weight: 700; box-shadow: 0 4px 14px rgba(0,0,0,.3); }
.pixora-split-labels .pixora-tag { top: 12px; }
.pixora-tag { position: absolute; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: #fff; background: rgba(20, 20, 30, .65); backdrop-filter: blur(4px); pointer-events: none; }
.pixora-tag-top { top: 12px; left: 50%; transform: translateX(-50%); }
.pixora-brush { position: absolute; border: 2px solid; border-radius: 999px; pointer-events: none;
  box-shadow: 0 0 0 1px rgba(0,0,0,.4); background: rgba(244,114,182,.15); }
.pixora-canvas-loading { position: absolute; right: 14px; top: 14px; pointer-events: none; }
.pixora-spinner { width: 22px; height: 22px; border-radius: 999px; border: 3px solid rgba(109,94,252,.25);
  border-top-color: #6d5efc; animation: pixora-spin .8s linear infinite; }
@keyframes pixora-spin { to { transform: rotate(360deg); } }
.pixora-zoom { position: absolute; left: 12px; bottom: 12px; font-size: 12px; padding: 2px 8px; border-radius: 8px;
  background: rgba(20,20,30,.55); color: #fff; pointer-events: none; }
"""


class CompareView(ui.element, component="compare_view.js"):
    """The canvas element. Show a version with `show(...)`; switch modes with the setters."""

    def __init__(
        self,
        *,
        on_stroke: Callable[[dict[str, Any]], Any] | None = None,
        on_split: Callable[[float], Any] | None = None,
    ) -> None:
        super().__init__()
        ui.add_css(CANVAS_CSS)
        self._props.update(src="", previewSrc="", before="", width=0, height=0, checker=False)
        self._props.update(comparing=False, mode="view", brushSize=40, erase=False, overlay=None)
        self.classes("w-full h-full")
        tagged(self, "canvas")
        if on_stroke is not None:
            self.on("stroke", lambda e: _call(on_stroke, _stroke_of(e)))
        if on_split is not None:
            self.on("split", lambda e: _call(on_split, float(e.args.get("split", 0.5))))

    def show(
        self, *, src: str, width: int, height: int, preview_src: str = "", before: str = "", checker: bool = False
    ) -> None:
        self._props.update(src=src, previewSrc=preview_src, before=before, width=width, height=height)
        self._props["checker"] = checker
        if not before:
            self._props["comparing"] = False
        self.update()

    def clear_image(self) -> None:
        self._props.update(src="", previewSrc="", before="", width=0, height=0, overlay=None, comparing=False)
        self.update()

    @property
    def has_before(self) -> bool:
        return bool(self._props.get("before"))

    @property
    def comparing(self) -> bool:
        return bool(self._props.get("comparing"))

    def set_comparing(self, value: bool) -> None:
        self._props["comparing"] = bool(value) and self.has_before
        self.update()

    def set_mode(self, mode: str) -> None:
        self._props["mode"] = mode
        self.update()

    def set_brush(self, *, size: int, erase: bool) -> None:
        self._props.update(brushSize=size, erase=erase)
        self.update()

    def set_overlay(self, box: tuple[int, int, int, int] | None) -> None:
        """The crop or expand frame for the image on screen (x, y, w, h in its pixels; may reach past it).
        It is not drawn over the before/after comparison: the before image may have another size."""
        self._props["overlay"] = None if box is None else {"x": box[0], "y": box[1], "w": box[2], "h": box[3]}
        self.update()

    def fit(self) -> None:
        self.run_method("fit")

    def zoom_in(self) -> None:
        self.run_method("zoomIn")

    def zoom_out(self) -> None:
        self.run_method("zoomOut")

    def actual_size(self) -> None:
        self.run_method("actualSize")

    def clear_mask(self) -> None:
        self.run_method("clearMask")

    def undo_stroke(self) -> None:
        self.run_method("undoStroke")


def _stroke_of(e: GenericEventArguments) -> dict[str, Any]:
    args = e.args if isinstance(e.args, dict) else {}
    return {
        "points": args.get("points", []),
        "size": args.get("size", 1),
        "erase": bool(args.get("erase", False)),
    }


def _call(handler: Callable[..., Any], value: Any) -> Any:
    return handler(value)
