"""Before a batch starts: how many AI edits it uses and what is left, and the clear choice when the
credits left do not cover every photo (run on the first N, or upgrade). Nothing starts without it."""

from __future__ import annotations

from nicegui import ui

from components import theme
from components.testids import tagged
from pixora_ui.services.batch_views import Quote

UPGRADE = -1  # the answer "upgrade instead" (a count of photos is never negative)


class BatchConfirm:
    """One dialog per page, refilled for each batch (a new dialog per click would pile up)."""

    def __init__(self) -> None:
        with (
            ui.dialog() as self.dialog,
            tagged(ui.card().classes(f"{theme.CARD} p-5 w-[420px] max-w-[94vw] gap-3"), "batch-confirm"),
        ):
            self.title = ui.label().classes(f"text-lg {theme.HEADING}")
            self.message = tagged(ui.label().classes("text-sm"), "batch-confirm-message")
            self.hint = ui.label().classes(f"text-xs {theme.MUTED}")
            self.buttons = ui.row().classes("w-full justify-end gap-2 pt-1")

    async def ask(self, *, tool_label: str, quote: Quote, partial: bool = True) -> int | None:
        """How many photos to run (all, or the first N when `partial`), UPGRADE, or None when the person said no."""
        self.title.set_text(f"{tool_label} on {quote.photos} photo{'s' if quote.photos != 1 else ''}")
        self.message.set_text(quote.message)
        self.hint.set_text(_hint(quote))
        self.hint.set_visibility(bool(self.hint.text))
        self.buttons.clear()
        with self.buttons:
            tagged(
                ui.button("Cancel", on_click=lambda: self.dialog.submit(None)).props("flat no-caps"),
                "batch-confirm-cancel",
            )
            if not quote.needs_verification:  # else the message says how to get the free edits first
                self._choices(quote, partial=partial)
        result = await self.dialog
        return result if isinstance(result, int) else None

    def _choices(self, quote: Quote, *, partial: bool) -> None:
        if quote.covered:
            tagged(
                ui.button("Start", icon="play_arrow", on_click=lambda: self.dialog.submit(quote.photos)).props(
                    "unelevated no-caps"
                ),
                "batch-start",
            )
            return
        tagged(
            ui.button("Upgrade", on_click=lambda: self.dialog.submit(UPGRADE)).props(
                "outline no-caps" if quote.fits and partial else "unelevated no-caps"
            ),
            "batch-upgrade",
        )
        if quote.fits and partial:
            tagged(
                ui.button(f"Run on the first {quote.fits}", on_click=lambda: self.dialog.submit(quote.fits)).props(
                    "unelevated no-caps"
                ),
                "batch-run-first",
            )


def _hint(quote: Quote) -> str:
    # An unlimited plan's quote needs no credits for an AI edit either: it must not read as a free tool.
    if quote.needs_verification or quote.unlimited:
        return ""
    if quote.credits_needed == 0:
        return "This tool is not an AI edit: it uses no credits."
    return "One AI edit per photo. A photo that fails gives its edit back."
