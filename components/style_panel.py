"""The style tool's panel: filter previews on the open photo, a strength slider, and (only with an AI
provider) a style sentence with an optional reference photo.

Previews are small WebP files the server renders from the photo's preview (`web.style_previews`);
they reach the browser as signed URLs, one `<img>` per filter, loaded lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.testids import tagged
from pixora_ui.engine.ops.style import PRESETS

STYLE_PANEL_CSS = """
.pixora-style-grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; width: 100%; }
.pixora-style { cursor: pointer; border-radius: 10px; padding: 3px; border: 2px solid transparent; }
.pixora-style:hover { background: rgba(109,94,252,.06); }
.pixora-style.is-chosen { border-color: var(--pixora-primary); background: rgba(109,94,252,.08); }
.pixora-style .thumb { width: 100%; aspect-ratio: 1; border-radius: 8px; object-fit: cover; display: block;
  background: rgba(100,116,139,.12); }
.pixora-style .name { font-size: 11px; line-height: 1.2; text-align: center; margin-top: 4px; }
"""

Apply = Callable[[dict[str, Any], str | None], Any]  # (params, provider) -> awaitable
PreviewUrl = Callable[[str], str | None]  # preset -> URL of its preview on the open photo


class StylePanel:
    """Built inside the style card of the palette."""

    def __init__(
        self,
        *,
        on_apply: Apply,
        preview_url: PreviewUrl,
        ai_provider: tuple[str, str] | None,
        image_choices: Callable[[], list[tuple[str, str]]],
        register_button: Callable[[ui.button], None],
    ) -> None:
        self._on_apply = on_apply
        self._preview_url = preview_url
        self._ai = ai_provider
        self._image_choices = image_choices
        self.preset = next(iter(PRESETS))
        self.strength = 100
        self.prompt = ""
        self.reference: str | None = None
        self._tiles: dict[str, ui.element] = {}
        self._thumbs: dict[str, ui.element] = {}
        ui.add_css(STYLE_PANEL_CSS)
        self._build(register_button)

    def _build(self, register_button: Callable[[ui.button], None]) -> None:
        with tagged(ui.column().classes("w-full gap-3"), "style-panel"):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Filters").classes("text-xs font-semibold")
                ui.label("Free · on this server").classes(
                    "text-[10px] font-semibold px-2 py-0.5 rounded-full bg-positive/10 text-positive"
                )
            with ui.element("div").classes("pixora-style-grid"):
                for name, preset in PRESETS.items():
                    with (
                        ui.element("div")
                        .classes("pixora-style" + (" is-chosen" if name == self.preset else ""))
                        .on("click", lambda n=name: self.choose(n))
                        .mark(f"style-{name}")
                        .props(f"data-testid=style-{name} data-preset={name} role=button tabindex=0")
                    ) as tile:
                        self._thumbs[name] = ui.element("img").classes("thumb").props('alt="" loading="lazy"')
                        ui.label(preset.label).classes("name")
                    self._tiles[name] = tile
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.label("Strength").classes("text-xs font-medium")
                slider = tagged(
                    ui.slider(min=0, max=100, step=5, value=self.strength, on_change=self._strength)
                    .props("dense label")
                    .classes("grow"),
                    "style-strength",
                )
                ui.label().bind_text_from(slider, "value", lambda v: f"{v:g}%" if v is not None else "").classes(
                    "text-xs w-10 text-right tabular-nums"
                )
            button = tagged(
                ui.button("Apply filter", icon="play_arrow", on_click=self._apply_filter)
                .props("unelevated no-caps data-available=1")
                .classes("w-full"),
                "apply-style",
            )
            register_button(button)
            if self._ai is not None:
                self._build_ai(register_button)
        self.refresh()

    def _build_ai(self, register_button: Callable[[ui.button], None]) -> None:
        assert self._ai is not None
        ui.separator().classes("my-1")
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Restyle with AI").classes("text-xs font-semibold")
            ui.label("1 AI edit").classes("text-[10px] font-semibold px-2 py-0.5 rounded-full bg-accent/15 text-accent")
        ui.label("Describe a look; the photo keeps its composition.").classes(f"text-xs {theme.MUTED}")
        tagged(
            ui.input(placeholder="as a 1950s travel poster", on_change=lambda e: setattr(self, "prompt", e.value or ""))
            .props("dense outlined clearable maxlength=300")
            .classes("w-full"),
            "style-prompt",
        )
        if self._ai[0] != "gemini":
            return self._restyle_button(register_button)  # ImageKit restyles from a description only
        tagged(
            ui.select(
                {"": "No reference photo", **dict(self._image_choices())},
                value="",
                label="Match the style of (optional)",
                on_change=lambda e: setattr(self, "reference", e.value or None),
            )
            .props("dense outlined options-dense")
            .classes("w-full"),
            "style-reference",
        )
        self._restyle_button(register_button)

    def _restyle_button(self, register_button: Callable[[ui.button], None]) -> None:
        assert self._ai is not None
        button = tagged(
            ui.button(f"Restyle with {self._ai[1]}", icon="auto_awesome", on_click=self._apply_ai)
            .props("unelevated no-caps color=accent data-available=1")
            .classes("w-full"),
            "apply-restyle",
        )
        register_button(button)

    # -- state

    def choose(self, preset: str) -> None:
        self.preset = preset
        for name, tile in self._tiles.items():
            tile.classes(add="is-chosen") if name == preset else tile.classes(remove="is-chosen")

    def refresh(self) -> None:
        """Point each preview at the open photo (or leave it blank when none is open)."""
        for name, thumb in self._thumbs.items():
            url = self._preview_url(name)
            if url:
                thumb.props(f'src="{url}"')
            else:
                thumb.props(remove="src")

    def _strength(self, e: Any) -> None:
        self.strength = int(e.value or 0)

    async def _apply_filter(self) -> None:
        await self._on_apply({"preset": self.preset, "strength": self.strength}, "local")

    async def _apply_ai(self) -> None:
        if not self.prompt.strip() and not self.reference:
            ui.notify("Describe a style, or choose a photo whose style to match", type="warning")
            return
        params: dict[str, Any] = {"prompt": self.prompt.strip()}
        if self.reference:
            params["reference"] = self.reference
        await self._on_apply(params, self._ai[0] if self._ai else None)
