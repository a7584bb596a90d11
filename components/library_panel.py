"""The library column: upload zone, "Create with AI", and the photos, paged by "Show more"; renaming;
selecting several photos for a batch edit.

The panel owns the list of photo cards and the selection; the page says which photo is open and what
a click does. Selecting: "Select" in the header, a Ctrl/⌘-click, a shift-click (a range from the open
or last clicked photo) or, on a phone, a long press; while selecting, a click toggles a photo.
Only classes change per click, so a selection costs a few bytes whatever the library's size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from nicegui import events, ui

from components import theme
from components.create_dialog import CreateDialog, OnCreate
from components.testids import tagged
from components.upload_zone import UploadZone
from pixora_ui.services import create, studio

LIBRARY_PAGE = 30  # photos per "Show more": one update stays far below 256 KB

PhotoAction = Callable[[str], Awaitable[object]]
SelectionListener = Callable[[list[str]], None]

LONG_PRESS_MS = 500
# A long press on a photo row becomes a `longpress` DOM event on the row (phones have no shift key);
# the click that ends the press is swallowed so it does not toggle the photo back.
LONG_PRESS_JS = f"""<script>
(() => {{
  if (window.pixoraLongPress) return;
  window.pixoraLongPress = true;
  let timer = null, origin = null, fired = null;
  const stop = () => {{ clearTimeout(timer); timer = null; }};
  document.addEventListener('pointerdown', (e) => {{
    const row = e.target.closest ? e.target.closest('.pixora-photo') : null;
    if (!row || e.button !== 0 || e.target.closest('.q-btn')) return;
    origin = [e.clientX, e.clientY];
    fired = null;
    stop();
    timer = setTimeout(() => {{
      timer = null; fired = row;
      row.dispatchEvent(new CustomEvent('longpress'));
      if (navigator.vibrate) navigator.vibrate(12);
    }}, {LONG_PRESS_MS});
  }}, true);
  document.addEventListener('pointerup', stop, true);
  document.addEventListener('pointercancel', stop, true);
  document.addEventListener('pointermove', (e) => {{
    if (timer && origin && Math.hypot(e.clientX - origin[0], e.clientY - origin[1]) > 10) stop();
  }}, true);
  document.addEventListener('click', (e) => {{
    if (fired && fired.contains(e.target)) {{ e.stopPropagation(); e.preventDefault(); }}
    fired = null;
  }}, true);
  document.addEventListener('contextmenu', (e) => {{
    if (e.target.closest && e.target.closest('.pixora-photo')) e.preventDefault();
  }}, true);
}})();
</script>"""
# While selecting, a plain click shows its toggle at once, before the server's answer confirms it.
CLICK_JS = """(e) => {
  const row = e.currentTarget, list = row.closest('.pixora-library');
  if (list && list.classList.contains('is-selecting') && !e.shiftKey) row.classList.toggle('is-selected');
  emit({shiftKey: e.shiftKey, ctrlKey: e.ctrlKey, metaKey: e.metaKey});
}"""
SELECTION_CSS = """
.pixora-photo { position: relative; -webkit-touch-callout: none; user-select: none; }
.pixora-photo .pixora-check { display: none; position: absolute; left: 2px; top: 2px; width: 20px; height: 20px;
  border-radius: 999px; border: 2px solid #fff; background: rgba(0,0,0,.28); color: #fff; font-size: 14px;
  box-shadow: 0 1px 3px rgba(0,0,0,.3); align-items: center; justify-content: center; }
.pixora-library.is-selecting .pixora-photo .pixora-check { display: flex; }
.pixora-library.is-selecting .pixora-photo .pixora-check i { visibility: hidden; }
.pixora-library.is-selecting .pixora-photo.is-selected .pixora-check { background: var(--pixora-primary); }
.pixora-library.is-selecting .pixora-photo.is-selected .pixora-check i { visibility: visible; }
.pixora-library.is-selecting .pixora-photo.is-open:not(.is-selected) { background: transparent;
  border-color: transparent; }
.pixora-photo.is-selected { background: rgba(109,94,252,.10); border-color: rgba(109,94,252,.35); }
"""


class LibraryPanel:
    def __init__(
        self,
        *,
        user_id: int,
        still_signed_in: Callable[[], Awaitable[bool]],
        on_open: PhotoAction,
        on_delete: PhotoAction,
        on_renamed: PhotoAction,
        on_uploaded: Callable[[studio.PhotoCard], Awaitable[None]],
        on_create: OnCreate,
    ) -> None:
        self.photos: list[studio.PhotoCard] = []
        self.open_id: str | None = None
        self.selecting = False
        self._selected: set[str] = set()
        self._anchor: str | None = None  # where a shift-click's range starts
        self._listeners: list[SelectionListener] = []
        self._user_id = user_id
        self._on_open = on_open
        self._on_delete = on_delete
        self._shown = 0
        self._more_button: ui.button | None = None
        self._layout = ui.context.client.layout
        self._create_dialog: CreateDialog | None = None  # built on first use
        self._rename = RenameDialog(user_id=user_id, still_signed_in=still_signed_in, on_saved=self._renamed)
        self._on_renamed = on_renamed
        self.upload = UploadZone(user_id=user_id, on_uploaded=on_uploaded, still_signed_in=still_signed_in)
        creator = create.generate_provider()
        if creator is not None:  # text to image needs a generative provider
            tagged(
                ui.button(
                    "Create with AI", icon="auto_awesome", on_click=lambda: self._open_create(on_create, creator[1])
                )
                .props("outline no-caps")
                .classes("w-full"),
                "create-open",
            )
        ui.add_css(SELECTION_CSS)
        ui.add_body_html(LONG_PRESS_JS)
        with ui.row().classes("w-full items-center justify-between no-wrap px-1 min-h-[28px]"):
            ui.label("Library").classes(f"text-xs uppercase tracking-wider font-semibold {theme.MUTED}")
            self.count = ui.label("").classes(f"text-xs {theme.MUTED} grow")
            self.select_button = tagged(
                ui.button("Select", on_click=lambda: self.set_selecting(not self.selecting)).props(
                    "flat dense no-caps size=sm"
                ),
                "select-toggle",
            )
        with ui.row().classes("w-full items-center no-wrap gap-1 px-1") as self.selection_bar:
            self.selection_label = tagged(
                ui.label("").classes("text-xs font-medium text-primary grow"), "selection-count"
            )
            tagged(ui.button("Select all", on_click=self.select_all).props("flat dense no-caps size=sm"), "select-all")
            tagged(
                ui.button("Clear", on_click=lambda: self.set_selecting(False)).props("flat dense no-caps size=sm"),
                "select-clear",
            )
        self.selection_bar.set_visibility(False)
        self.list = tagged(ui.column().classes("pixora-library w-full gap-1"), "library")
        with self.list:
            for _ in range(3):
                ui.skeleton().classes("w-full h-14 rounded-xl")

    async def reload(self) -> None:
        self.show(await studio.library_for(self._user_id))

    def show(self, photos: list[studio.PhotoCard]) -> None:
        """The first page of the library; "Show more" appends the next (keeps each update small)."""
        self.photos = photos
        ids = {p.id for p in photos}
        if not self._selected <= ids:  # a selected photo was deleted
            self._selected &= ids
            self._selection_changed()
        self.list.clear()
        self.count.set_text(f"{len(photos)} photo{'s' if len(photos) != 1 else ''}" if photos else "")
        self._shown = 0
        with self.list:
            if not photos:
                ui.label("No photos yet. Drop some above.").classes(f"text-sm {theme.MUTED} px-1 py-2")
        self._more_photos()

    def add(self, card: studio.PhotoCard) -> None:
        self.show([card, *[p for p in self.photos if p.id != card.id]])

    def remove(self, photo_id: str) -> None:
        self.show([p for p in self.photos if p.id != photo_id])

    def version_added(self, version: studio.VersionCard) -> None:
        """An edit of a listed photo: its row shows the new version and one edit more (no re-listing)."""
        self.show(
            [
                dataclasses.replace(p, versions=p.versions + 1, preview_url=version.preview_url)
                if p.id == version.root_id
                else p
                for p in self.photos
            ]
        )

    def get(self, photo_id: str) -> studio.PhotoCard | None:
        return next((p for p in self.photos if p.id == photo_id), None)

    def choices(self) -> list[tuple[str, str]]:
        """(id, name) of every photo: for tools that take a second image."""
        return [(p.id, p.name) for p in self.photos]

    def mark_open(self, photo_id: str | None) -> None:
        self.open_id = photo_id
        for child in self.list.default_slot.children:
            child.classes(add="is-open") if child.props.get("data-photo") == photo_id else child.classes(
                remove="is-open"
            )

    # -- selection

    def selection(self) -> list[str]:
        """The selected photos in library order (a batch's "first N" are the first ones shown)."""
        return [p.id for p in self.photos if p.id in self._selected] if self.selecting else []

    def on_selection(self, listener: SelectionListener) -> None:
        self._listeners.append(listener)

    def set_selecting(self, selecting: bool) -> None:
        """Enter or leave the selection mode; leaving it clears the selection."""
        self.selecting = selecting
        if not selecting:
            self._selected.clear()
            self._anchor = None
        self._selection_changed()

    def select_all(self) -> None:
        self.selecting = True
        self._selected = {p.id for p in self.photos}
        self._selection_changed()

    async def _clicked(self, photo_id: str, e: events.GenericEventArguments) -> None:
        args = e.args if isinstance(e.args, dict) else {}
        if args.get("shiftKey"):
            self._select_range(photo_id)
        elif args.get("ctrlKey") or args.get("metaKey") or self.selecting:
            self._toggle(photo_id)
        else:
            self._anchor = photo_id
            await self._on_open(photo_id)

    def _long_pressed(self, photo_id: str) -> None:
        self.selecting = True
        self._selected.add(photo_id)
        self._anchor = photo_id
        self._selection_changed()

    def _toggle(self, photo_id: str) -> None:
        if not self.selecting:
            self.selecting = True
            self._selected = {self.open_id} if self.open_id else set()  # the open photo counts as picked
        self._selected ^= {photo_id}
        self._anchor = photo_id
        self._selection_changed()

    def _select_range(self, photo_id: str) -> None:
        order = [p.id for p in self.photos]
        anchor = self._anchor if self._anchor in order else self.open_id
        if anchor not in order or photo_id not in order:
            self._toggle(photo_id)
            return
        first, last = sorted((order.index(anchor or ""), order.index(photo_id)))
        if not self.selecting:
            self.selecting = True
            self._selected = set()
        self._selected |= set(order[first : last + 1])
        self._selection_changed()

    def _selection_changed(self) -> None:
        self.list.classes(add="is-selecting") if self.selecting else self.list.classes(remove="is-selecting")
        for child in self.list.default_slot.children:
            photo = child.props.get("data-photo")
            if photo is None:
                continue
            child.classes(add="is-selected") if photo in self._selected else child.classes(remove="is-selected")
        count = len(self._selected)
        self.selection_label.set_text(f"{count} selected" if count else "Tap photos to select them")
        self.selection_bar.set_visibility(self.selecting)
        self.select_button.set_text("Done" if self.selecting else "Select")
        chosen = self.selection()
        for listener in self._listeners:
            listener(chosen)

    def rename(self, photo_id: str, name: str | None = None) -> None:
        photo = self.get(photo_id)
        self._rename.open(photo_id, name or (photo.name if photo else ""))

    def _more_photos(self) -> None:
        if self._more_button is not None and not self._more_button.is_deleted:
            self._more_button.delete()
        self._more_button = None
        start, end = self._shown, min(len(self.photos), self._shown + LIBRARY_PAGE)
        with self.list:
            for index in range(start, end):
                self._photo_row(index, self.photos[index])
            if end < len(self.photos):
                self._more_button = tagged(
                    ui.button(f"Show more ({len(self.photos) - end})", on_click=self._more_photos)
                    .props("flat no-caps dense")
                    .classes("w-full"),
                    "library-more",
                )
        self._shown = end

    def _photo_row(self, index: int, photo: studio.PhotoCard) -> None:
        classes = "pixora-photo w-full" + (" is-open" if photo.id == self.open_id else "")
        classes += " is-selected" if photo.id in self._selected else ""
        with tagged(
            ui.element("div")
            .classes(classes)
            .on("click", lambda e, p=photo.id: self._clicked(p, e), js_handler=CLICK_JS)
            .on("longpress", lambda p=photo.id: self._long_pressed(p))
            .props(f'data-photo="{photo.id}"'),
            f"photo-{index}",
        ):
            ui.element("img").props(f'src="{photo.preview_url}" loading="lazy" alt="" draggable="false"')
            with ui.element("span").classes("pixora-check"):
                ui.icon("check", size="14px")
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(photo.name).classes("text-sm font-medium truncate w-full")
                edits = f" · {photo.versions} edit{'s' if photo.versions != 1 else ''}" if photo.versions else ""
                ui.label(f"{photo.created_at:%d %b %Y}{edits}").classes(f"text-xs {theme.MUTED}")
            # The menu button must not also open the photo; stopping the click needs no server round trip.
            with ui.button(icon="more_vert").props("flat round dense size=sm").on("click.stop", js_handler="() => {}"):
                with ui.menu():
                    ui.menu_item("Rename", on_click=lambda p=photo: self.rename(p.id, p.name))
                    tagged(ui.menu_item("Delete", on_click=lambda p=photo: self._delete(p.id)), f"delete-photo-{index}")

    def _open_create(self, on_create: OnCreate, provider_label: str) -> None:
        if self._create_dialog is None:
            with self._layout:
                self._create_dialog = CreateDialog(on_create=on_create, provider_label=provider_label)
        self._create_dialog.open()

    async def _delete(self, photo_id: str) -> None:
        # The menu that asked is rebuilt by the delete: work in the page's context, not the menu's.
        with self._layout:
            await self._on_delete(photo_id)

    async def _renamed(self, photo_id: str, name: str) -> None:
        self.show([dataclasses.replace(p, name=name) if p.id == photo_id else p for p in self.photos])
        await self._on_renamed(photo_id)


class RenameDialog:
    """One rename dialog per page, built on first use and reused (a new dialog per click would pile up)."""

    def __init__(
        self,
        *,
        user_id: int,
        still_signed_in: Callable[[], Awaitable[bool]],
        on_saved: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self._user_id = user_id
        self._still_signed_in = still_signed_in
        self._on_saved = on_saved
        self._target: str | None = None
        self._dialog: ui.dialog | None = None
        self._layout = ui.context.client.layout  # not the menu that opens it: menus are rebuilt

    def open(self, photo_id: str, name: str) -> None:
        if self._dialog is None:
            with self._layout:
                self._build()
        assert self._dialog is not None
        self._target = photo_id
        self.field.props(remove="error error-message")
        self.field.set_value(name)
        self._dialog.open()

    def _build(self) -> None:
        with ui.dialog() as self._dialog, ui.card().classes(f"{theme.CARD} p-5 w-[380px] max-w-[94vw] gap-3"):
            ui.label("Rename photo").classes(f"text-lg {theme.HEADING}")
            self.field = tagged(ui.input("Name").props("outlined autofocus").classes("w-full"), "rename-input")
            self.field.on("keydown.enter", self._save)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self._dialog.close).props("flat no-caps data-testid=rename-cancel")
                tagged(ui.button("Save", on_click=self._save).props("unelevated no-caps"), "rename-save")

    async def _save(self) -> None:
        target = self._target
        if target is None or self._dialog is None:
            return
        if not await self._still_signed_in():
            return
        try:
            new_name = await studio.rename_photo(self._user_id, target, self.field.value or "")
        except studio.StudioError as exc:
            self.field.props(f'error error-message="{exc}"')
            return
        self._dialog.close()
        await self._on_saved(target, new_name)
