"""The Create dialog: a picture from a description (text-to-image), next to the upload zone.

The page shows the entry only when a generative provider is configured; the dialog asks for the
description, the shape and how many pictures (each one AI edit), and hands them to `on_create`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components import theme
from components.testids import tagged
from pixora_ui.engine.tools.create_options import ASPECTS, MAX_COUNT

OnCreate = Callable[[str, str, int], Awaitable[None]]  # (prompt, aspect, count)
ASPECT_LABELS = {"1:1": "Square", "4:3": "4:3", "3:4": "3:4", "16:9": "Wide", "9:16": "Tall"}


class CreateDialog:
    def __init__(self, *, on_create: OnCreate, provider_label: str) -> None:
        self._on_create = on_create
        self.aspect = ASPECTS[0]
        self.count = 1
        with (
            ui.dialog() as self.dialog,
            tagged(ui.card().classes(f"{theme.CARD} p-5 w-[440px] max-w-[94vw] gap-3"), "create-dialog"),
        ):
            ui.label("Create a picture").classes(f"text-lg {theme.HEADING}")
            ui.label(f"Describe what you want to see. {provider_label} draws it; it lands in your library.").classes(
                f"text-sm {theme.MUTED}"
            )
            self.prompt = tagged(
                ui.textarea(placeholder="a red bicycle on a beach at sunset, soft morning light")
                .props("outlined autogrow maxlength=1000 autofocus")
                .classes("w-full"),
                "create-prompt",
            )
            ui.label("Shape").classes("text-xs font-medium")
            tagged(
                ui.toggle(
                    {a: ASPECT_LABELS[a] for a in ASPECTS},
                    value=self.aspect,
                    on_change=lambda e: self._set_aspect(e.value),
                )
                .props("dense no-caps unelevated toggle-color=primary spread")
                .classes("w-full rounded-lg border border-black/10 dark:border-white/10"),
                "create-aspect",
            )
            ui.label("How many").classes("text-xs font-medium")
            tagged(
                ui.toggle(
                    {n: str(n) for n in range(1, MAX_COUNT + 1)}, value=1, on_change=lambda e: self._set_count(e.value)
                )
                .props("dense no-caps unelevated toggle-color=primary spread")
                .classes("w-full rounded-lg border border-black/10 dark:border-white/10"),
                "create-count",
            )
            with ui.row().classes("w-full justify-end gap-2 pt-1"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                self.go = tagged(
                    ui.button(self._go_label(), icon="auto_awesome", on_click=self._submit).props("unelevated no-caps"),
                    "create-go",
                )

    def open(self) -> None:
        self.dialog.open()

    def _go_label(self) -> str:
        return f"Create · {self.count} AI edit{'s' if self.count > 1 else ''}"

    def _set_aspect(self, value: str | None) -> None:
        self.aspect = value or ASPECTS[0]

    def _set_count(self, value: int | None) -> None:
        self.count = int(value or 1)
        self.go.set_text(self._go_label())

    async def _submit(self) -> None:
        text = " ".join(str(self.prompt.value or "").split())
        if not text:
            ui.notify("Describe the picture first", type="warning")
            return
        self.dialog.close()
        await self._on_create(text, self.aspect, self.count)
