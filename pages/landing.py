"""The landing page at `/`: what Pixora does, the tools, Free vs Pro pricing, sign-in and sign-up."""

from __future__ import annotations

from nicegui import ui

from components import theme
from components.frame import frame
from pixora_ui.catalog import TOOL_CARDS, plans
from pixora_ui.settings import get_settings


@ui.page("/")
def landing_page() -> None:
    with frame(""):
        _hero()
        _tools()
        _how_it_works()
        _pricing()


def _hero() -> None:
    with ui.element("section").classes("w-full pixora-hero-bg"):
        with ui.column().classes(f"{theme.SECTION} py-16 md:py-24 items-center text-center gap-6"):
            ui.label("Self-hosted · private · fast").classes(
                "text-xs uppercase tracking-widest font-semibold text-primary bg-primary/10 px-3 py-1 rounded-full"
            )
            ui.html(
                '<h1 class="text-4xl md:text-6xl font-bold tracking-tight leading-tight max-w-[900px]">'
                'Professional photo edits in <span class="pixora-gradient-text">one click</span></h1>',
                sanitize=False,
            )
            ui.label(
                "Remove or replace backgrounds, upscale up to 4x, retouch portraits, crop smartly, erase objects "
                "and edit with a sentence. Pixora runs on your own machine: your photos never leave it."
            ).classes(f"text-lg max-w-[680px] {theme.MUTED}")
            with ui.row().classes("gap-3 justify-center"):
                ui.button("Start editing free", on_click=lambda: ui.navigate.to("/signup")).props(
                    "unelevated size=lg no-caps rounded"
                ).classes("px-6").mark("hero-signup")
                ui.button("Sign in", on_click=lambda: ui.navigate.to("/login")).props(
                    "outline size=lg no-caps rounded"
                ).classes("px-6").mark("hero-login")
            ui.label(f"{get_settings().free_edit_limit} free AI edits · no credit card · works offline").classes(
                f"text-sm {theme.MUTED}"
            )


def _tools() -> None:
    with ui.element("section").classes(f"{theme.SECTION} py-14").props("id=tools"):
        ui.label("Everything a photo needs").classes(f"text-3xl {theme.HEADING} text-center w-full")
        ui.label("Local AI models do the work; connect ImageKit or Gemini for generative edits.").classes(
            f"{theme.MUTED} text-center w-full mt-2"
        )
        with ui.element("div").classes("grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-4 gap-4 mt-10 w-full"):
            for card in TOOL_CARDS:
                with ui.column().classes(f"{theme.CARD} p-5 gap-2"):
                    ui.icon(card.icon, size="28px").classes("text-primary bg-primary/10 rounded-xl p-2")
                    ui.label(card.title).classes(f"text-base {theme.HEADING}")
                    ui.label(card.text).classes(f"text-sm {theme.MUTED}")


def _how_it_works() -> None:
    steps = (
        ("upload", "Upload", "Drop photos in, up to 50 megapixels. EXIF rotation and colour profiles are handled."),
        ("touch_app", "Click a tool", "Cut-out, background, upscale, retouch, crop, erase, or describe an edit."),
        ("compare", "Compare & keep", "Slide between before and after; every result is kept as a version."),
        ("download", "Download", "PNG with transparency, JPEG or WebP, at the quality you choose."),
    )
    with ui.element("section").classes(f"{theme.SECTION} py-10"):
        with ui.element("div").classes("grid grid-cols-1 md:grid-cols-4 gap-6"):
            for index, (icon, title, text) in enumerate(steps, start=1):
                with ui.row().classes("gap-3 no-wrap items-start"):
                    ui.label(str(index)).classes(
                        "rounded-full bg-primary text-white w-8 h-8 flex items-center justify-center font-bold shrink-0"
                    )
                    with ui.column().classes("gap-1"):
                        with ui.row().classes("items-center gap-2"):
                            ui.icon(icon).classes("text-primary")
                            ui.label(title).classes(theme.HEADING)
                        ui.label(text).classes(f"text-sm {theme.MUTED}")


def _pricing() -> None:
    with ui.element("section").classes(f"{theme.SECTION} py-14").props("id=pricing"):
        ui.label("Simple pricing").classes(f"text-3xl {theme.HEADING} text-center w-full")
        ui.label(
            f"Every tool on every plan. Basic edits are always free; AI edits: "
            f"{get_settings().free_edit_limit} on Free, unlimited on Pro."
        ).classes(f"{theme.MUTED} text-center w-full mt-2")
        with ui.element("div").classes("grid grid-cols-1 md:grid-cols-3 gap-5 mt-10 w-full"):
            for plan in plans():
                card = ui.column().classes(f"{theme.CARD} p-6 gap-3").mark(f"plan-{plan.key}")
                if plan.highlight:
                    card.style(f"border: 2px solid {theme.PRIMARY}")
                with card:
                    with ui.row().classes("items-center justify-between w-full"):
                        ui.label(plan.name).classes(f"text-xl {theme.HEADING}")
                        if plan.highlight:
                            ui.label("Most popular").classes(
                                "text-xs font-semibold text-white bg-primary px-2 py-1 rounded-full"
                            )
                    with ui.row().classes("items-baseline gap-1"):
                        ui.label(plan.price).classes(f"text-4xl {theme.HEADING}")
                        ui.label(plan.period).classes(theme.MUTED)
                    ui.label(plan.tagline).classes(f"text-sm {theme.MUTED}")
                    with ui.column().classes("gap-2 mt-2"):
                        for feature in plan.features:
                            with ui.row().classes("items-center gap-2 no-wrap"):
                                ui.icon("check_circle", size="18px").classes("text-positive")
                                ui.label(feature).classes("text-sm")
                    ui.button(plan.cta, on_click=lambda: ui.navigate.to("/signup")).props(
                        "unelevated no-caps rounded" if plan.highlight else "outline no-caps rounded"
                    ).classes("w-full mt-3")
