"""The tools palette: grouped tool cards built from the registry, with parameters, cost and availability.

New tools appear without page changes: everything here is derived from `ToolCard`s. A tool's card
opens to show its parameters and an Apply button; a switched-off tool says why. Only the fields of
the chosen mode are shown (a parameter's `only_with`), and "Run with" offers only the providers that
can run the current settings. While photos are selected, Apply says what the run on all of them costs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.testids import tagged
from pixora_ui.engine.tools.registry import Param
from pixora_ui.services.studio import ToolCard, painted_mask, providers_for

# Feedback in the same frame as the click, before the server answers: the button pulses for a moment.
INSTANT_FEEDBACK_JS = """(e) => {
  const b = e && e.target && e.target.closest ? e.target.closest('.q-btn') : null;
  if (b) { b.classList.add('pixora-pending'); setTimeout(() => b.classList.remove('pixora-pending'), 1500); }
  emit();
}"""
PENDING_CSS = """
.pixora-pending { animation: pixora-pulse .9s ease-in-out infinite; pointer-events: none; }
@keyframes pixora-pulse { 50% { opacity: .55; } }
"""


def run_cost(costs_credit: bool, photos: int) -> str:
    """What running a tool on `photos` photos (one job each) costs: "7 AI edits", or "Free"."""
    return f"{photos} AI edit{'s' if photos != 1 else ''}" if costs_credit else "Free"


def apply_text(costs_credit: bool, photos: int = 0) -> str:
    """An Apply button's words: what the run costs. `photos` is the number of selected photos it runs
    on; 0 is the open photo alone."""
    if photos <= 0:
        return "Apply" + (" · 1 AI edit" if costs_credit else "")
    return f"Apply · {run_cost(costs_credit, photos)}"


ApplyHandler = Callable[[str, dict[str, Any], str | None], Any]
Choices = Callable[[], list[tuple[str, str]]]  # (value, label) for image parameters


class ToolPalette:
    """Builds the palette in the current context. `values(tool)` holds the current parameter values."""

    def __init__(
        self,
        cards: list[ToolCard],
        *,
        on_apply: ApplyHandler,
        on_open: Callable[[str | None], Any] | None = None,
        on_change: Callable[[str, dict[str, Any]], Any] | None = None,
        image_choices: Choices | None = None,
        custom: dict[str, Callable[[ToolCard], Any]] | None = None,
    ) -> None:
        self.cards = {c.name: c for c in cards}
        self._values: dict[str, dict[str, Any]] = {c.name: {p.name: p.default for p in c.params} for c in cards}
        self._provider: dict[str, str | None] = {c.name: (c.providers[0][0] if c.providers else None) for c in cards}
        self._on_apply = on_apply
        self._on_open = on_open
        self._on_change = on_change
        self._image_choices = image_choices or (lambda: [])
        # Tools whose card content a page builds itself (e.g. the style panel with previews).
        self._custom = custom or {}
        self._expansions: dict[str, ui.expansion] = {}
        self._rows: dict[str, dict[str, ui.column]] = {}  # tool -> parameter name -> its field
        self._provider_select: dict[str, ui.select] = {}
        self._provider_note: dict[str, ui.label] = {}
        self._apply_buttons: list[ui.button] = []
        self._apply_by_tool: dict[str, ui.button] = {}  # the palette's own Apply buttons
        self._photos = 0  # selected photos Apply runs on; 0: the open photo
        self._built: set[str] = set()
        self._enabled = False
        self.open_tool: str | None = None
        ui.add_css(PENDING_CSS)
        self._build()

    # -- state

    def values(self, tool: str) -> dict[str, Any]:
        """The values a run uses: what the card shows, and the default for a field the chosen mode hides
        (a prompt typed before switching to "Colour" must not steer the colour run)."""
        values = dict(self._values.get(tool, {}))
        card = self.cards.get(tool)
        for param in card.params if card is not None else ():
            if param.only_with is not None and values.get(param.only_with[0]) not in param.only_with[1]:
                values[param.name] = param.default
        return values

    def set_value(self, tool: str, name: str, value: Any) -> None:
        self._values[tool][name] = value
        if tool in self._built:
            self._sync(tool)
        if self._on_change is not None:
            self._on_change(tool, self.values(tool))

    def set_enabled(self, enabled: bool) -> None:
        """Disable Apply while no photo is open."""
        self._enabled = enabled
        for button in self._apply_buttons:
            button.set_enabled(enabled and bool(button.props.get("data-available")))

    def set_photos(self, count: int) -> None:
        """`count` photos are selected (0: none): the Apply buttons say what a run on them costs. A
        tool that needs a mask painted on the photo runs on the open photo only and keeps its words."""
        if count == self._photos:
            return
        self._photos = count
        for tool, button in self._apply_by_tool.items():
            button.set_text(self._apply_text(self.cards[tool]))

    def _apply_text(self, card: ToolCard) -> str:
        return apply_text(card.costs_credit, 0 if painted_mask(card.name) else self._photos)

    def register_apply(self, button: ui.button) -> None:
        """An apply button of a custom card: enabled and disabled with the palette's own."""
        self._apply_buttons.append(button)
        button.set_enabled(self._enabled and bool(button.props.get("data-available")))

    def close(self) -> None:
        for expansion in self._expansions.values():
            expansion.set_value(False)

    def open(self, tool: str) -> None:
        if tool in self._expansions:
            self._content(self.cards[tool])
            self._expansions[tool].set_value(True)

    # -- building

    def _build(self) -> None:
        groups: dict[str, list[ToolCard]] = {}
        for card in self.cards.values():
            groups.setdefault(card.group_label, []).append(card)
        with tagged(ui.column().classes("w-full gap-4"), "tool-palette"):
            if not self.cards:
                ui.label("No tools are installed on this server.").classes(f"text-sm {theme.MUTED}")
            for group_label, cards in groups.items():
                if not cards:
                    continue
                with ui.column().classes("w-full gap-1"):
                    ui.label(group_label).classes(
                        f"text-[11px] uppercase tracking-wider font-semibold {theme.MUTED} px-1"
                    )
                    for card in cards:
                        self._tool(card)

    def _tool(self, card: ToolCard) -> None:
        expansion = tagged(
            ui.expansion(group="tools", on_value_change=lambda e, n=card.name: self._opened(n, bool(e.value)))
            .classes("w-full pixora-tool rounded-xl")
            .props("dense header-class='px-2 py-1 rounded-xl' expand-icon-class='hidden'"),
            f"tool-{card.name}",
        )
        self._expansions[card.name] = expansion
        with expansion.add_slot("header"), ui.row().classes("w-full items-center no-wrap gap-3 py-1"):
            ui.icon(card.icon, size="20px").classes(
                "rounded-lg p-1.5 "
                + ("bg-primary/10 text-primary" if card.available else "bg-slate-500/10 text-slate-400")
            )
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(card.label).classes(
                    "text-sm font-semibold leading-tight " + ("" if card.available else "opacity-60")
                )
                if card.available:
                    ui.label(card.description).classes(f"text-xs {theme.MUTED} leading-tight truncate w-full")
                else:
                    tagged(
                        ui.label(card.reason or "Not available").classes("text-xs text-warning leading-tight"),
                        f"tool-reason-{card.name}",
                    )
            ui.label(card.cost_label).classes(
                "text-[10px] font-semibold px-2 py-0.5 rounded-full whitespace-nowrap "
                + ("bg-accent/15 text-accent" if card.costs_credit else "bg-positive/10 text-positive")
            )

    def _content(self, card: ToolCard) -> None:
        """A tool's parameters and Apply button, built the first time its card opens (keeps the page light)."""
        if card.name in self._built:
            return
        self._built.add(card.name)
        if card.name in self._custom and card.available:
            with self._expansions[card.name], ui.column().classes("w-full gap-3 px-2 pb-3 pt-1"):
                self._custom[card.name](card)
            return
        with self._expansions[card.name], ui.column().classes("w-full gap-3 px-2 pb-3 pt-1"):
            if card.available:
                ui.label(card.description).classes(f"text-xs {theme.MUTED}")
            self._rows[card.name] = {}
            for param in card.params:
                self._param(card, param)
            if len(card.providers) > 1:
                self._provider_select[card.name] = tagged(
                    ui.select(
                        dict(card.providers),
                        value=self._provider[card.name],
                        label="Run with",
                        on_change=lambda e, n=card.name: self._provider.__setitem__(n, e.value),
                    )
                    .props("dense outlined options-dense")
                    .classes("w-full"),
                    f"provider-{card.name}",
                )
            if card.provider_label:
                self._provider_note[card.name] = (
                    ui.label(f"Runs on {card.provider_label}")
                    .classes(f"text-xs {theme.MUTED}")
                    .mark(f"runs-on-{card.name}")
                )
            button = tagged(
                ui.button(self._apply_text(card), icon="play_arrow")
                .on("click", lambda n=card.name: self._apply(n), js_handler=INSTANT_FEEDBACK_JS)
                .props("unelevated no-caps")
                .classes("w-full"),
                f"apply-{card.name}",
            )
            button.props(f"data-available={'1' if card.available else ''}")
            if not card.available:
                button.tooltip(card.reason or "Not available")
            button.set_enabled(card.available and self._enabled)
            self._apply_buttons.append(button)
            self._apply_by_tool[card.name] = button
        self._sync(card.name)

    def _sync(self, tool: str) -> None:
        """Show the fields of the chosen mode only, and offer the providers that can run these settings."""
        if tool in self._custom:
            return
        values = self.values(tool)
        for param in self.cards[tool].params:
            row = self._rows.get(tool, {}).get(param.name)
            if row is not None and param.only_with is not None:
                controller, shown_for = param.only_with
                row.set_visibility(values.get(controller) in shown_for)
        card = self.cards[tool]
        if not card.available or not card.providers:
            return
        offered = providers_for(tool, values)
        if self._provider.get(tool) not in dict(offered):
            self._provider[tool] = offered[0][0] if offered else None
        select = self._provider_select.get(tool)
        if select is not None:
            select.set_options(dict(offered), value=self._provider[tool])
            select.set_visibility(len(offered) > 1)
        note = self._provider_note.get(tool)
        if note is not None:
            note.set_text(f"Runs on {offered[0][1]}" if len(offered) == 1 else "")
            note.set_visibility(len(offered) == 1)

    def _param(self, card: ToolCard, param: Param) -> None:
        tool = card.name
        value = self._values[tool][param.name]
        mark = f"param-{tool}-{param.name}"

        def setter(e: Any, p: str = param.name) -> None:
            self.set_value(tool, p, e.value)

        if param.kind == "image" and param.name == "mask":
            ui.label("Paint over what to erase on the photo. [ and ] change the brush size.").classes(
                "text-xs text-primary"
            )
            return
        with ui.column().classes("w-full gap-1") as row:
            self._rows[tool][param.name] = row
            if param.kind not in {"bool"}:
                ui.label(param.label).classes("text-xs font-medium")
            if param.kind == "choice":
                labels = param.choice_labels or tuple(c.replace("-", " ").capitalize() for c in param.choices)
                options = dict(zip(param.choices, labels, strict=False))
                if len(options) <= 4 and sum(len(v) for v in options.values()) <= 28:
                    tagged(
                        ui.toggle(options, value=value, on_change=setter)
                        .props("dense no-caps unelevated toggle-color=primary spread")
                        .classes("w-full rounded-lg border border-black/10 dark:border-white/10"),
                        mark,
                    )
                else:
                    tagged(
                        ui.select(options, value=value, on_change=setter)
                        .props("dense outlined options-dense")
                        .classes("w-full"),
                        mark,
                    )
            elif param.kind in {"int", "float"}:
                if param.min is not None and param.max is not None and param.max - param.min <= 1000:
                    step = param.step or (1 if param.kind == "int" else (param.max - param.min) / 100)
                    with ui.row().classes("w-full items-center no-wrap gap-2"):
                        slider = tagged(
                            ui.slider(min=param.min, max=param.max, step=step, value=value, on_change=setter)
                            .props("dense label")
                            .classes("grow"),
                            mark,
                        )
                        ui.label().bind_text_from(slider, "value", lambda v: f"{v:g}" if v is not None else "").classes(
                            "text-xs w-10 text-right tabular-nums"
                        )
                else:
                    tagged(
                        ui.number(value=value, step=param.step or 1, min=param.min, max=param.max, on_change=setter)
                        .props("dense outlined")
                        .classes("w-full"),
                        mark,
                    )
            elif param.kind == "bool":
                tagged(ui.switch(param.label, value=bool(value), on_change=setter).props("dense"), mark)
            elif param.kind == "color":
                _color(value or "#ffffff", setter, mark)
            elif param.kind == "text":
                tagged(
                    ui.input(value=value or "", on_change=setter, placeholder=param.help or "")
                    .props("dense outlined clearable")
                    .classes("w-full"),
                    mark,
                )
            elif param.kind == "image":
                tagged(
                    ui.select(
                        dict(self._image_choices()), value=value, on_change=setter, label="Choose one of your photos"
                    )
                    .props("dense outlined options-dense")
                    .classes("w-full"),
                    mark,
                )
            if param.help and param.kind != "text":
                ui.label(param.help).classes(f"text-[11px] {theme.MUTED}")

    def _opened(self, tool: str, opened: bool) -> None:
        if opened:
            self._content(self.cards[tool])
            self.open_tool = tool
        elif self.open_tool == tool:
            self.open_tool = None
        else:
            return
        if self._on_open is not None:
            self._on_open(self.open_tool)

    def apply(self, tool: str) -> Any:
        """Apply `tool` with the parameters set in its card (also used by the erase bar)."""
        return self._apply(tool)

    def _apply(self, tool: str) -> Any:
        return self._on_apply(tool, self.values(tool), self._provider.get(tool))


SWATCHES = ("#ffffff", "#000000", "#f3f4f6", "#6d5efc", "#0ea5e9", "#f472b6", "#16a34a", "#fbbf24")


def _color(value: str, setter: Callable[[Any], None], mark: str) -> None:
    with ui.row().classes("items-center gap-1.5 w-full"):
        picker = tagged(ui.color_input(value=value, on_change=setter).props("dense outlined").classes("w-32"), mark)
        for swatch in SWATCHES:
            ui.element("button").classes("w-6 h-6 rounded-full border border-black/15 cursor-pointer").style(
                f"background:{swatch}"
            ).on("click", lambda s=swatch: picker.set_value(s)).props(f"aria-label='Colour {swatch}'")
