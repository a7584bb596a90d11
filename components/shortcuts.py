"""Keyboard shortcuts of the studio: what each key does, and the `?` overlay that lists them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from nicegui import ui

from components import theme
from components.testids import tagged

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


# While one of these has focus, keys are typing, not shortcuts.
TEXT_FIELDS: tuple[Literal["input", "select", "textarea"], ...] = ("input", "select", "textarea")

# The browser's own Ctrl+Z is document-wide: pressed outside a text field it undoes the last typing
# in one (the prompt), moving the focus there, after which every shortcut is typing. Outside text
# fields the studio's undo and redo are the only ones.
_NO_BROWSER_UNDO_JS = """
<script>
if (!window.pixoraUndoGuard) {
  window.pixoraUndoGuard = true;
  document.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || !['z', 'y'].includes((e.key || '').toLowerCase())) return;
    const el = document.activeElement;
    const typing = el && (el.isContentEditable || %s.includes(el.tagName.toLowerCase()));
    if (!typing) e.preventDefault();
  }, true);
}
</script>
"""


@dataclass(frozen=True, kw_only=True)
class Actions:
    """What the page does for each shortcut."""

    undo: Callable[[], Any]
    redo: Callable[[], Any]
    toggle_compare: Callable[[], Any]
    download: Callable[[], Any]
    brush_smaller: Callable[[], Any]
    brush_larger: Callable[[], Any]
    toggle_eraser: Callable[[], Any]
    upload: Callable[[], Any]
    focus_prompt: Callable[[], Any]


class Shortcuts:
    """The page's key listener and the `?` list, built on first use.

    Keys act only while no text field has focus; a focused button does not stop them (after a click
    on Undo, Ctrl+Z must still undo). Held keys do not repeat an action."""

    def __init__(self, actions: Actions) -> None:
        self._actions = actions
        self._container = ui.context.client.layout
        self._dialog: ui.dialog | None = None  # most visits never open it
        ui.add_head_html(_NO_BROWSER_UNDO_JS % json.dumps(TEXT_FIELDS))
        ui.keyboard(on_key=self._key, repeating=False, ignore=[*TEXT_FIELDS])

    def show_list(self) -> None:
        if self._dialog is None:
            with self._container:
                self._dialog = shortcuts_dialog()
        self._dialog.open()

    def _key(self, e: Any) -> None:
        if not e.action.keydown:
            return
        key = str(e.key.name)
        mods = e.modifiers
        actions = self._actions
        if (mods.ctrl or mods.meta) and key.lower() == "z":
            actions.redo() if mods.shift else actions.undo()
        elif (mods.ctrl or mods.meta) and key.lower() == "y":
            actions.redo()
        elif mods.ctrl or mods.meta or mods.alt:
            return
        elif key == "?":
            self.show_list()
        elif key.lower() == "c":
            actions.toggle_compare()
        elif key.lower() == "d":
            actions.download()
        elif key == "[":
            actions.brush_smaller()
        elif key == "]":
            actions.brush_larger()
        elif key.lower() == "e":
            actions.toggle_eraser()
        elif key.lower() == "u":
            actions.upload()
        elif key == "/":
            actions.focus_prompt()


def shortcuts_dialog() -> ui.dialog:
    with (
        ui.dialog() as dialog,
        tagged(ui.card().classes(f"{theme.CARD} p-5 w-[440px] max-w-[94vw]"), "shortcuts"),
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
