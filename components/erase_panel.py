"""The magic-erase panel floating over the photo: the brush (a `MaskPainter`), Erase and close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.compare_view import CompareView
from components.mask_painter import MaskPainter
from components.testids import tagged
from components.tool_palette import INSTANT_FEEDBACK_JS
from pixora_ui.services import studio


class ErasePanel:
    def __init__(self, canvas: CompareView, *, on_erase: Callable[[], Any], on_close: Callable[[], Any]) -> None:
        with tagged(
            ui.column().classes(
                f"{theme.CARD} absolute bottom-3 left-1/2 -translate-x-1/2 z-10 p-3 gap-1"
                " w-[min(480px,calc(100%-24px))]"
            ),
            "erase-panel",
        ) as self.root:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.icon("healing", size="20px").classes("text-primary")
                ui.label("Magic erase").classes("text-sm font-semibold grow")
                tagged(
                    ui.button("Erase", icon="auto_fix_high")
                    .on("click", on_erase, js_handler=INSTANT_FEEDBACK_JS)
                    .props("unelevated dense no-caps")
                    .classes("px-3"),
                    "erase-apply",
                )
                ui.button(icon="close", on_click=on_close).props("flat round dense size=sm")
            self.painter = MaskPainter(canvas)
        self.root.set_visibility(False)

    def set_active(self, active: bool) -> None:
        """Shown with the brush on while the erase tool is open; hidden with the brush off otherwise."""
        self.root.set_visibility(active)
        self.painter.activate() if active else self.painter.deactivate()

    async def mask_for(self, user_id: int, version: studio.VersionCard) -> str | None:
        """The painted strokes stored as a mask of `version`; None, after saying why, when there is none."""
        if not self.painter.has_paint:
            ui.notify("Paint over what you want to erase first", type="warning")
            return None
        try:
            return await studio.create_mask(
                user_id,
                for_asset_id=version.id,
                strokes=self.painter.strokes,
                width=version.width,
                height=version.height,
            )
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return None
