"""What the canvas shows before a photo is open: a title that says why, and an upload button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.testids import tagged


def create(*, on_upload: Callable[[], Any]) -> ui.label:
    """Build it inside the canvas; returns the title, which the page changes ("Start with a photo")."""
    with tagged(ui.column().classes("items-center gap-3 text-center max-w-[420px]"), "canvas-empty"):
        ui.icon("photo_library", size="56px").classes("text-primary/60")
        title = ui.label("Loading your studio…").classes(f"text-lg {theme.HEADING}")
        ui.label("Upload a photo, or pick one from your library, then choose a tool.").classes(f"text-sm {theme.MUTED}")
        tagged(
            ui.button("Upload photos", icon="upload", on_click=on_upload).props("unelevated no-caps"), "empty-upload"
        )
    return title
