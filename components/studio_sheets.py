"""The studio's side columns, which become bottom sheets on a phone, and the phone's bottom navigation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.testids import tagged


def sheet_panel(title: str, *, side: str, mark: str, on_close: Callable[[], Any]) -> ui.column:
    """A side column on a desktop, a bottom sheet with its own header on a phone; enter it to fill it."""
    with tagged(ui.column().classes(f"pixora-panel pixora-{side} pixora-sheet p-3 gap-3"), mark) as panel:
        with ui.row().classes("pixora-sheet-head w-full items-center justify-between px-4 pt-3"):
            ui.element("div").classes(
                "w-10 h-1 rounded-full bg-slate-400/40 absolute left-1/2 -translate-x-1/2 top-1.5"
            )
            ui.label(title).classes(f"text-base {theme.HEADING}")
            ui.button(icon="close", on_click=on_close).props("flat round dense")
    return panel


def bottom_nav(items: list[tuple[str, str, Callable[[], Any], str]]) -> None:
    """The phone's navigation bar: (icon, label, action, marker) per button."""
    with tagged(ui.row().classes("pixora-bottom-nav items-center justify-around no-wrap px-2"), "bottom-nav"):
        for icon, label, action, mark in items:
            with tagged(ui.button(on_click=action).props("flat no-caps stack dense").classes("text-xs"), mark):
                ui.icon(icon)
                ui.label(label)


class Sheets:
    """At most one sheet open at a time (the CSS shows them only below 1024 px)."""

    def __init__(self) -> None:
        self.panels: dict[str, ui.column] = {}

    def add(self, which: str, title: str, *, mark: str) -> ui.column:
        self.panels[which] = sheet_panel(title, side=which, mark=mark, on_close=lambda: self.toggle(which, False))
        return self.panels[which]

    def toggle(self, which: str, open_: bool | None = None) -> None:
        sheet = self.panels[which]
        target = ("is-open" not in sheet.classes) if open_ is None else open_
        for name, other in self.panels.items():
            if name != which:
                other.classes(remove="is-open")
        sheet.classes(add="is-open") if target else sheet.classes(remove="is-open")

    def close(self) -> None:
        for panel in self.panels.values():
            panel.classes(remove="is-open")
