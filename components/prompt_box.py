"""The prompt box: "Describe an edit…", example chips, Enter applies, and the plan shown before running.

While photos are selected it says so: the edit runs on each of them (the page sends it to the batch
like a tool, with the same cost dialog first)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components.testids import tagged
from components.tool_palette import run_cost
from pixora_ui.services.studio import PROMPT_TOOL, PromptPreview, costs_credit, preview_prompt

EXAMPLES: tuple[str, ...] = (
    "Remove the background",
    "Make it brighter and warmer",
    "Crop to square",
    "Upscale 2x",
    "Black and white",
)


class PromptBox:
    def __init__(self, *, on_submit: Callable[[str], Any]) -> None:
        self._on_submit = on_submit
        self._photos = 0
        with tagged(ui.column().classes("w-full gap-2"), "prompt-box"):
            self.target = tagged(ui.label().classes("text-xs font-semibold text-primary leading-snug"), "prompt-target")
            self.target.set_visibility(False)
            self.input = tagged(
                ui.input(placeholder="Describe an edit…", on_change=self._changed)
                .props("outlined dense clearable maxlength=500 enterkeyhint=go")
                .classes("w-full pixora-prompt"),
                "prompt",
            )
            with self.input.add_slot("prepend"):
                ui.icon("auto_awesome", size="20px").classes("text-primary")
            with self.input.add_slot("append"):
                self.send = ui.button(icon="arrow_upward", on_click=self.submit).props("round dense unelevated size=sm")
                tagged(self.send, "prompt-send")
            self.input.on("keydown.enter", self.submit)
            self.plan = tagged(ui.label().classes("text-xs text-primary leading-snug"), "prompt-plan")
            self.plan.set_visibility(False)
            with ui.row().classes("gap-1.5"):
                for example in EXAMPLES:
                    tagged(
                        ui.button(example, on_click=lambda t=example: self._example(t))
                        .props("outline rounded dense no-caps size=sm")
                        .classes("px-2 text-xs"),
                        "prompt-example",
                    )

    def set_photos(self, count: int) -> None:
        """`count` photos are selected (0: none): say that the edit runs on each of them, and its cost."""
        if count == self._photos:
            return
        self._photos = count
        if count > 0:
            photos = "the selected photo" if count == 1 else f"the {count} selected photos"
            self.target.set_text(f"Edits {photos} · {run_cost(costs_credit(PROMPT_TOOL), count)}")
        self.target.set_visibility(count > 0)

    def _example(self, text: str) -> None:
        self.input.set_value(text)
        self.input.run_method("focus")

    def _changed(self, _e: Any = None) -> None:
        text = (self.input.value or "").strip()
        if not text:
            self.plan.set_visibility(False)
            return
        self.show_preview(preview_prompt(text))

    def show_preview(self, preview: PromptPreview) -> None:
        self.plan.set_text(preview.text)
        self.plan.classes(replace="text-xs leading-snug " + ("text-primary" if preview.runnable else "text-warning"))
        self.plan.set_visibility(True)

    def submit(self) -> Any:
        text = (self.input.value or "").strip()
        if not text:
            ui.notify("Describe the edit you want first", type="warning")
            return None
        return self._on_submit(text)

    def focus(self) -> None:
        self.input.run_method("focus")
