"""The undo bar: "Deleted … · Undo" at the bottom of the page for a few seconds after a delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.testids import tagged

SHOWN_S = 8.0


class UndoBar:
    """At most one bar per page: a new one replaces the one still on screen."""

    def __init__(self, container: ui.element) -> None:
        self._container = container  # the page's layout: the bar must outlive the menu or button that asked for it
        self._bar: ui.row | None = None

    def show(self, text: str, on_undo: Callable[[], Awaitable[None]]) -> None:
        self.hide()
        with (
            self._container,
            tagged(
                ui.row().classes(
                    "fixed bottom-20 lg:bottom-6 left-1/2 -translate-x-1/2 z-[3000] items-center gap-3 px-4 py-2 "
                    "rounded-xl bg-slate-900 text-white shadow-lg no-wrap"
                ),
                "undo-bar",
            ) as bar,
        ):
            ui.label(text).classes("text-sm")

            async def do_undo() -> None:
                bar.delete()
                await on_undo()

            tagged(ui.button("Undo", on_click=do_undo).props("flat dense no-caps color=white"), "undo-delete")
        self._bar = bar
        with bar:
            ui.timer(SHOWN_S, lambda: None if bar.is_deleted else bar.delete(), once=True)

    def hide(self) -> None:
        if self._bar is not None and not self._bar.is_deleted:
            self._bar.delete()
        self._bar = None
