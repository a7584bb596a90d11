"""The tools column: the credit chip (phones), the confirm-your-address notice, the prompt and the palette.

The prompt and the palette are the heaviest part of the studio: `build_tools()` adds them once the
browser is connected, skeletons stand in until then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ElementFilter, ui

from components import verify_notice
from components.prompt_box import PromptBox
from components.style_panel import StylePanel
from components.testids import tagged
from components.tool_palette import ToolPalette
from pixora_ui.auth.current import CurrentUser
from pixora_ui.services import create, studio

OnApply = Callable[[str, dict[str, Any], str | None], Awaitable[None]]


class ToolsPanel:
    def __init__(self, user: CurrentUser) -> None:
        self.prompt: PromptBox | None = None
        self.palette: ToolPalette | None = None
        self.style_panel: StylePanel | None = None
        self.credit = tagged(
            ui.label(user.usage.label).classes(
                "lg:hidden text-xs px-3 py-1 rounded-full bg-primary/10 text-primary font-medium self-start"
            ),
            "credit-label",
        )
        if not user.email_verified and user.usage.limit is not None:
            verify_notice.create(user_id=user.id, email=user.email)
        self.box = ui.column().classes("w-full gap-3")
        with self.box:
            for height in ("h-10", "h-16", "h-14", "h-14", "h-14"):
                ui.skeleton().classes(f"w-full {height} rounded-xl")

    def build_tools(
        self,
        *,
        on_prompt: Callable[[str], Awaitable[None]],
        on_apply: OnApply,
        on_open: Callable[[str | None], None],
        on_change: Callable[[str, dict[str, Any]], None],
        image_choices: Callable[[], list[tuple[str, str]]],
        style_preview: Callable[[str], str | None],
    ) -> ToolPalette:
        self.box.clear()
        with self.box:
            self.prompt = PromptBox(on_submit=on_prompt)
            self.palette = palette = ToolPalette(
                # The prompt has its own box above the palette.
                [c for c in studio.tool_cards() if c.name != studio.PROMPT_TOOL],
                on_apply=on_apply,
                on_open=on_open,
                on_change=on_change,
                image_choices=image_choices,
                custom={
                    create.STYLE_TOOL: lambda _card: self._style_panel(palette, on_apply, style_preview, image_choices)
                },
            )
        return palette

    def set_photos(self, count: int) -> None:
        """`count` photos are selected (0: none): the prompt and the Apply buttons say they edit them all."""
        if self.prompt is not None:
            self.prompt.set_photos(count)
        if self.palette is not None:
            self.palette.set_photos(count)

    def show_usage(self, text: str) -> None:
        """The chip here and every usage chip of the page's header."""
        self.credit.set_text(text)
        for label in ElementFilter(kind=ui.label, marker="usage-chip", local_scope=False):
            label.set_text(text)

    def version_changed(self) -> None:
        if self.style_panel is not None:
            self.style_panel.refresh()

    def _style_panel(
        self,
        palette: ToolPalette,
        on_apply: OnApply,
        preview: Callable[[str], str | None],
        image_choices: Callable[[], list[tuple[str, str]]],
    ) -> None:
        self.style_panel = StylePanel(
            on_apply=lambda params, provider: on_apply(create.STYLE_TOOL, params, provider),
            preview_url=preview,
            ai_provider=create.restyle_provider(),
            image_choices=image_choices,
            register_button=palette.register_apply,
        )
