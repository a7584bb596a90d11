"""The studio's toolbar above the canvas: photo title, rename, compare, zoom, download, shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.testids import tagged


class StudioToolbar:
    def __init__(
        self,
        *,
        on_rename: Callable[[], Any],
        on_compare: Callable[[], Any],
        on_zoom: Callable[[str], Any],
        on_download: Callable[[], Any],
        on_shortcuts: Callable[[], Any],
    ) -> None:
        with tagged(ui.row().classes("w-full items-center no-wrap gap-1 px-3 py-2 min-h-[52px]"), "toolbar"):
            self.title = tagged(ui.label("").classes(f"text-sm font-semibold truncate {theme.HEADING}"), "photo-title")
            self.rename_button = tagged(
                ui.button(icon="edit", on_click=on_rename).props("flat round dense size=sm").tooltip("Rename"), "rename"
            )
            ui.space()
            self.compare_button = tagged(
                ui.button(icon="compare", on_click=on_compare)
                .props("flat dense no-caps")
                .classes("max-lg:hidden")
                .tooltip("Before/after (C) · hold B for the original"),
                "compare-toggle",
            )
            with ui.row().classes("gap-0 no-wrap max-sm:hidden"):
                ui.button(icon="zoom_out", on_click=lambda: on_zoom("out")).props(
                    "flat round dense data-testid=zoom-out"
                )
                ui.button(icon="fit_screen", on_click=lambda: on_zoom("fit")).props(
                    "flat round dense data-testid=zoom-fit"
                ).tooltip("Fit (0)")
                ui.button(icon="zoom_in", on_click=lambda: on_zoom("in")).props("flat round dense data-testid=zoom-in")
            self.download_button = tagged(
                ui.button("Download", icon="download", on_click=on_download)
                .props("unelevated dense no-caps")
                .classes("px-3 max-lg:hidden"),
                "download",
            )
            ui.button(icon="keyboard", on_click=on_shortcuts).props("flat round dense").tooltip(
                "Shortcuts (?)"
            ).classes("max-sm:hidden")

    def refresh(self, *, has_photo: bool, can_compare: bool, comparing: bool) -> None:
        self.download_button.set_enabled(has_photo)
        self.rename_button.set_visibility(has_photo)
        self.compare_button.set_enabled(can_compare)
        self.compare_button.props("color=primary" if comparing else "color=grey-7")
