"""Magic erase brush: size slider and `[` `]` keys, brush/eraser, undo stroke, clear.

The strokes are painted in the browser (compare_view.js) and arrive here as points in image
pixels; the server keeps them and rasterises the mask when the erase is applied.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components import theme
from components.compare_view import CompareView
from components.testids import tagged
from pixora_ui.engine.ops.masks import MaskError, Stroke

MIN_SIZE, MAX_SIZE = 4, 240


class MaskPainter:
    def __init__(self, canvas: CompareView) -> None:
        self.canvas = canvas
        self.strokes: list[Stroke] = []
        self.size = 40
        self.erase = False
        self.width = 0
        self.height = 0
        with tagged(ui.column().classes("w-full gap-2"), "mask-painter") as self.root:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.icon("brush", size="18px").classes("text-primary")
                self.slider = tagged(
                    ui.slider(min=MIN_SIZE, max=MAX_SIZE, step=1, value=self.size, on_change=self._size_changed)
                    .props("dense")
                    .classes("grow"),
                    "brush-size",
                )
                self.size_label = ui.label(f"{self.size}px").classes("text-xs w-12 text-right tabular-nums")
            with ui.row().classes("w-full items-center no-wrap gap-1"):
                self.mode = tagged(
                    ui.toggle({False: "Brush", True: "Eraser"}, value=False, on_change=self._mode_changed)
                    .props("dense no-caps unelevated toggle-color=primary")
                    .classes("rounded-lg border border-black/10 dark:border-white/10"),
                    "brush-mode",
                )
                ui.space()
                ui.button(icon="undo", on_click=self.undo_stroke).props("flat round dense size=sm").tooltip(
                    "Undo last stroke"
                )
                tagged(
                    ui.button("Clear", icon="layers_clear", on_click=self.clear).props("flat dense no-caps size=sm"),
                    "mask-clear",
                )
            self.status = ui.label("Paint over what you want to remove.").classes(f"text-xs {theme.MUTED}")
            tagged(self.status, "mask-status")

    def attach(self, width: int, height: int) -> None:
        """A new image is on the canvas: forget strokes made for the old one."""
        if (width, height) != (self.width, self.height):
            self.strokes.clear()
        self.width, self.height = width, height
        self._status()

    def activate(self) -> None:
        self.canvas.set_brush(size=self.size, erase=self.erase)
        self.canvas.set_mode("paint")

    def deactivate(self) -> None:
        self.canvas.set_mode("view")

    def add_stroke(self, raw: dict[str, Any]) -> None:
        if not self.width:
            return
        try:
            self.strokes.append(Stroke.from_raw(raw, width=self.width, height=self.height))
        except MaskError:
            return
        self._status()

    def grow(self) -> None:
        self.slider.set_value(min(MAX_SIZE, round(self.size * 1.2) + 1))

    def shrink(self) -> None:
        self.slider.set_value(max(MIN_SIZE, round(self.size / 1.2) - 1))

    def toggle_eraser(self) -> None:
        self.mode.set_value(not self.erase)

    def undo_stroke(self) -> None:
        if self.strokes:
            self.strokes.pop()
            self.canvas.undo_stroke()
        self._status()

    def clear(self) -> None:
        self.strokes.clear()
        self.canvas.clear_mask()
        self._status()

    @property
    def has_paint(self) -> bool:
        return any(not s.erase for s in self.strokes)

    def _size_changed(self, e: Any) -> None:
        self.size = int(e.value)
        self.size_label.set_text(f"{self.size}px")
        self.canvas.set_brush(size=self.size, erase=self.erase)

    def _mode_changed(self, e: Any) -> None:
        self.erase = bool(e.value)
        self.canvas.set_brush(size=self.size, erase=self.erase)

    def _status(self) -> None:
        count = len(self.strokes)
        self.status.set_text(
            "Paint over what you want to remove." if not count else f"{count} stroke{'s' if count != 1 else ''} painted"
        )
