"""The versions strip: every result of a photo as a thumbnail; view, continue from, undo/redo, delete.

Undo moves to the parent of the version on screen, redo walks back down the way undo came (or to
the newest child). Nothing is deleted by undo: every version stays until deleted explicitly.

Times are the viewer's: the page asks the browser for its time zone once (`learn_zone`); until it
answers they are in UTC and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from nicegui import Client, ui

from components import theme
from components.testids import tagged
from pixora_ui.services.studio import VersionCard
from pixora_ui.services.version_labels import browser_zone, version_time

HISTORY_CSS = """
.pixora-thumb { width: 64px; height: 64px; border-radius: 10px; overflow: hidden; flex: none; cursor: pointer;
  border: 2px solid transparent; position: relative; transition: border-color .12s, transform .12s; }
.pixora-thumb:hover { transform: translateY(-1px); }
.pixora-thumb.is-current { border-color: var(--pixora-primary); }
.pixora-thumb img { width: 100%; height: 100%; object-fit: contain; display: block; }
.pixora-thumb-label { position: absolute; left: 0; right: 0; bottom: 0; font-size: 10px; line-height: 14px;
  padding: 0 4px; color: #fff; background: linear-gradient(transparent, rgba(0,0,0,.7)); white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
"""
# The browser's time zone: its IANA name, and its offset for a server that does not know that name.
ZONE_JS = "return [Intl.DateTimeFormat().resolvedOptions().timeZone, new Date().getTimezoneOffset()];"
ZONE_TIMEOUT_S = 5.0


class History:
    """Navigation over a photo's versions (plain state; the strip renders it)."""

    def __init__(self) -> None:
        self.versions: list[VersionCard] = []
        self.current_id: str | None = None
        self._redo: list[str] = []

    def load(self, versions: list[VersionCard], current_id: str | None = None) -> None:
        self.versions = versions
        ids = {v.id for v in versions}
        if current_id not in ids:
            current_id = versions[-1].id if versions else None
        self.current_id = current_id
        self._redo = [i for i in self._redo if i in ids]

    @property
    def current(self) -> VersionCard | None:
        return next((v for v in self.versions if v.id == self.current_id), None)

    def by_id(self, version_id: str | None) -> VersionCard | None:
        return next((v for v in self.versions if v.id == version_id), None)

    def parent_of(self, version: VersionCard | None) -> VersionCard | None:
        return self.by_id(version.parent_id) if version and version.parent_id else None

    def select(self, version_id: str) -> bool:
        if self.by_id(version_id) is None or version_id == self.current_id:
            return False
        self.current_id = version_id
        self._redo.clear()
        return True

    def can_undo(self) -> bool:
        return self.parent_of(self.current) is not None

    def can_redo(self) -> bool:
        return bool(self._redo) or bool(self._children(self.current_id))

    def undo(self) -> bool:
        parent = self.parent_of(self.current)
        if parent is None or self.current_id is None:
            return False
        self._redo.append(self.current_id)
        self.current_id = parent.id
        return True

    def redo(self) -> bool:
        if self._redo:
            self.current_id = self._redo.pop()
            return True
        children = self._children(self.current_id)
        if not children:
            return False
        self.current_id = children[-1].id
        return True

    def add(self, version: VersionCard) -> None:
        """A new result arrived with its details (from the job's event): keep it and show it."""
        if self.by_id(version.id) is None:
            self.versions = [*self.versions, version]
        self.added(version.id)

    def added(self, version_id: str) -> None:
        """A new result arrived: show it and forget the redo path."""
        self.current_id = version_id
        self._redo.clear()

    def _children(self, version_id: str | None) -> list[VersionCard]:
        return [v for v in self.versions if v.parent_id == version_id and version_id is not None]


class HistoryStrip:
    def __init__(
        self,
        history: History,
        *,
        on_select: Callable[[str], Any],
        on_undo: Callable[[], Any],
        on_redo: Callable[[], Any],
        on_delete: Callable[[str], Any],
    ) -> None:
        ui.add_css(HISTORY_CSS)
        self.history = history
        self.zone: tzinfo | None = None  # the viewer's, once the browser said it
        self._on_select = on_select
        with tagged(ui.row().classes("w-full items-center no-wrap gap-2 px-3 py-2"), "history") as self.root:
            with ui.row().classes("gap-1 no-wrap shrink-0"):
                self.undo_button = (
                    ui.button(icon="undo", on_click=on_undo).props("flat round dense").tooltip("Undo (Ctrl+Z)")
                )
                tagged(self.undo_button, "undo")
                self.redo_button = (
                    ui.button(icon="redo", on_click=on_redo).props("flat round dense").tooltip("Redo (Ctrl+Shift+Z)")
                )
                tagged(self.redo_button, "redo")
            self.strip = tagged(ui.row().classes("no-wrap gap-2 overflow-x-auto grow py-1"), "history-strip")
            self.delete_button = tagged(
                ui.button(icon="delete_outline", on_click=lambda: self._delete(on_delete))
                .props("flat round dense")
                .tooltip("Delete this version"),
                "delete-version",
            )
        self.render()

    def _delete(self, on_delete: Callable[[str], Any]) -> Any:
        current = self.history.current
        if current is not None and not current.is_original:
            return on_delete(current.id)
        return None

    def show(self, history: History) -> None:
        """Another photo's versions: the thumbnails are rebuilt, never kept from the previous photo."""
        self.history = history
        self.render()

    async def learn_zone(self, client: Client) -> None:
        """Ask the browser for its time zone once; the thumbnails' times then follow it."""
        try:
            answer = await client.run_javascript(ZONE_JS, timeout=ZONE_TIMEOUT_S)
        except TimeoutError:
            return  # the tab went away or never answered: the times stay in UTC and say so
        zone = browser_zone(*answer[:2]) if isinstance(answer, list) and len(answer) >= 2 else None
        if zone is not None and not self.strip.is_deleted:
            self.set_zone(zone)

    def set_zone(self, zone: tzinfo) -> None:
        """Show the times in `zone`: only the thumbnails' titles change, no image is sent again."""
        self.zone = zone
        for child in self.strip.default_slot.children:
            version = self.history.by_id(child.props.get("data-version-id"))
            if version is not None:
                child.props(f'title="{self._title(version)}"')

    def _title(self, version: VersionCard) -> str:
        when = version_time(version.created_at, zone=self.zone)
        return f"{version.label} · {when}: click to view; the next edit starts from it"

    def render(self) -> None:
        """Rebuild the thumbnails (a handful of small elements; done only when versions change)."""
        self.strip.clear()
        with self.strip:
            if not self.history.versions:
                ui.label("Versions of your photo appear here.").classes(f"text-xs {theme.MUTED}")
            for index, version in enumerate(self.history.versions):
                classes = "pixora-thumb pixora-checker" + (
                    " is-current" if version.id == self.history.current_id else ""
                )
                with tagged(
                    ui.element("div")
                    .classes(classes)
                    .on("click", lambda v=version.id: self._on_select(v))
                    .props(f'title="{self._title(version)}" data-version="{index}" data-version-id="{version.id}"'),
                    f"version-{index}",
                ):
                    ui.element("img").props(f'src="{version.preview_url}" loading="lazy" draggable="false" alt=""')
                    ui.label(version.label).classes("pixora-thumb-label")
        self.refresh_buttons()

    def refresh_buttons(self) -> None:
        self.undo_button.set_enabled(self.history.can_undo())
        self.redo_button.set_enabled(self.history.can_redo())
        current = self.history.current
        self.delete_button.set_enabled(current is not None and not current.is_original)
        for child in self.strip.default_slot.children:
            version_id = child.props.get("data-version-id")
            if version_id is None:
                continue
            child.classes(add="is-current") if version_id == self.history.current_id else child.classes(
                remove="is-current"
            )
