"""Keyboard shortcuts of the studio and the `?` overlay that lists them."""

from __future__ import annotations

from nicegui import ui

from components import theme

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl Z", "Undo: back to the previous version"),
    ("Ctrl Shift Z", "Redo"),
    ("Hold B", "Show the original while held"),
    ("C", "Before/after slider on or off"),
    ("D", "Download the version on screen"),
    ("[  ]", "Brush smaller / larger (magic erase)"),
    ("E", "Brush / eraser (magic erase)"),
    ("+  −  0", "Zoom in, zoom out, fit (or scroll to zoom; drag to pan)"),
    ("Esc", "Fit the photo; close dialogs"),
    ("U", "Upload photos"),
    ("/", "Describe an edit"),
    ("?", "This list"),
)


def shortcuts_dialog() -> ui.dialog:
    with (
        ui.dialog() as dialog,
        ui.card().classes(f"{theme.CARD} p-5 w-[440px] max-w-[94vw]").mark("shortcuts").props("data-testid=shortcuts"),
    ):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Keyboard shortcuts").classes(f"text-lg {theme.HEADING}")
            ui.button(icon="close", on_click=dialog.close).props("flat round dense")
        with ui.column().classes("w-full gap-2 mt-2"):
            for keys, text in SHORTCUTS:
                with ui.row().classes("w-full items-center no-wrap gap-3"):
                    with ui.row().classes("gap-1 w-28 shrink-0 no-wrap"):
                        for key in keys.split("  ") if "  " in keys else [keys]:
                            ui.label(key).classes(
                                "text-xs font-mono px-2 py-0.5 rounded-md border border-black/15 dark:border-white/20"
                                " bg-black/5 dark:bg-white/10 whitespace-nowrap"
                            )
                    ui.label(text).classes("text-sm")
    return dialog
