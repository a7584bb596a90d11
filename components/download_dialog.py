"""The download dialog: format and quality, the file name it will get, and the public share link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import theme
from components.history_strip import History
from components.testids import tagged
from pixora_ui.services import studio

FORMAT_HINTS = {
    "png": "PNG keeps transparency; lossless.",
    "jpeg": "JPEG is smallest for photos; transparency becomes white.",
    "webp": "WebP keeps transparency and is small.",
}


class DownloadDialog:
    """Built once per page; `open()` shows it for the version on screen (read through `history`)."""

    def __init__(self, *, user_id: int, history: Callable[[], History]) -> None:
        self._user_id = user_id
        self._history = history
        self._shared: dict[str, bool] = {}  # version id -> shared, once changed on this page
        self._share_loading = False
        with ui.dialog() as self.dialog, ui.card().classes(f"{theme.CARD} p-5 w-[380px] max-w-[94vw] gap-3"):
            ui.label("Download").classes(f"text-lg {theme.HEADING}")
            self.name = tagged(ui.label("").classes(f"text-xs {theme.MUTED} break-all"), "download-name")
            self.format = tagged(
                ui.toggle({"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}, value="png", on_change=self._format_changed)
                .props("no-caps unelevated toggle-color=primary spread")
                .classes("w-full rounded-lg border border-black/10 dark:border-white/10"),
                "download-format",
            )
            self.format_hint = ui.label(FORMAT_HINTS["png"]).classes(f"text-xs {theme.MUTED}")
            with ui.row().classes("w-full items-center no-wrap gap-2") as self.quality_row:
                ui.label("Quality").classes("text-sm")
                self.quality = tagged(
                    ui.slider(min=40, max=100, step=1, value=90).props("label").classes("grow"), "download-quality"
                )
            self.quality_row.set_visibility(False)
            ui.separator()
            self._share_section()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                tagged(
                    ui.button("Download", icon="download", on_click=self.download).props("unelevated no-caps"),
                    "download-go",
                )

    def open(self) -> None:
        self._update_name()
        self._show_share()
        self.dialog.open()

    def download(self) -> None:
        history = self._history()
        version = history.current
        if version is None:
            return
        url = studio.download_url(history.versions, version.id, fmt=self.format.value, quality=int(self.quality.value))
        ui.download.from_url(url)
        self.dialog.close()

    def _share_section(self) -> None:
        self.share_switch = tagged(
            ui.switch("Anyone with the link can view this version", on_change=self._share_changed).props("dense"),
            "share-public",
        )
        with ui.row().classes("w-full items-center no-wrap gap-2") as self.share_row:
            self.share_link = ui.input().props("readonly dense outlined").classes("grow text-xs").mark("share-link")
            ui.button(icon="content_copy", on_click=self._copy_share_link).props("flat round dense").tooltip(
                "Copy the link"
            )
        self.share_hint = ui.label(
            "Add ?tr=w-800 (or other sizes and effects) to the link to resize it on the fly."
        ).classes(f"text-xs {theme.MUTED}")

    def _format_changed(self, _e: Any = None) -> None:
        fmt = self.format.value
        self.quality_row.set_visibility(fmt != "png")
        self.format_hint.set_text(FORMAT_HINTS[fmt])
        self._update_name()

    def _update_name(self) -> None:
        history = self._history()
        version = history.current
        if version is not None:
            self.name.set_text(studio.download_name(history.versions, version.id, self.format.value))

    def _show_share(self) -> None:
        version = self._history().current
        if version is None:
            return
        shared = self._shared.get(version.id, version.public)
        self._share_loading = True  # setting the switch fires its change handler: not a user's change
        try:
            self.share_switch.set_value(shared)
        finally:
            self._share_loading = False
        self.share_link.set_value(studio.share_link(version.id, version.name))
        self.share_row.set_visibility(shared)
        self.share_hint.set_visibility(shared)

    async def _share_changed(self, e: Any) -> None:
        version = self._history().current
        if self._share_loading or version is None:
            return
        try:
            shared = await studio.set_shared(self._user_id, version.id, bool(e.value))
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return
        self._shared[version.id] = shared
        self._show_share()
        ui.notify("Anyone with the link can view it now" if shared else "The link no longer works for others")

    def _copy_share_link(self) -> None:
        ui.clipboard.write(self.share_link.value)
        ui.notify("Link copied")
