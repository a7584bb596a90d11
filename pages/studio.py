"""The Magic Studio at `/studio`: upload, library, canvas with compare, tools, prompt, jobs, versions.

The builder renders the skeleton at once; the library and the photo load after the browser has
connected (page builders must answer within 3 s). Images reach the browser only as signed media
URLs; every update of the page is a small in-place change. The parts live in `components/`; this
page holds the state they share (the open photo and its versions, the jobs it started).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import background_tasks, ui

from components import canvas_placeholder, shortcuts, theme
from components.batch_panel import BatchPanel
from components.box_preview import BoxPreview
from components.compare_view import CompareView
from components.download_dialog import DownloadDialog
from components.edit_jobs import EditJobs
from components.erase_panel import ErasePanel
from components.frame import frame
from components.history_strip import History, HistoryStrip
from components.job_panel import JobPanel
from components.library_panel import LibraryPanel
from components.studio_sheets import Sheets, bottom_nav
from components.studio_toolbar import StudioToolbar
from components.submit_guard import Request as EditRequest
from components.testids import tagged
from components.tool_palette import ToolPalette
from components.tools_panel import ToolsPanel
from components.undo_bar import UndoBar
from components.usage_gate import UsageGate
from pages.guard import signed_in, still_signed_in, viewer_of
from pixora_ui.auth.current import CurrentUser
from pixora_ui.services import create, previews, studio
from pixora_ui.services.job_views import JobView


@ui.page("/studio", response_timeout=10)
async def studio_page(request: Request, photo: str | None = None) -> RedirectResponse | None:
    return await _studio(request, photo, None)


@ui.page("/studio/{photo_id}", response_timeout=10)
async def studio_photo_page(request: Request, photo_id: str, v: str | None = None) -> RedirectResponse | None:
    """One photo (and with `?v=` one of its versions) by address: a reload shows the same one."""
    return await _studio(request, photo_id, v)


async def _studio(request: Request, photo: str | None, version: str | None) -> RedirectResponse | None:
    user = await signed_in(request)
    if isinstance(user, RedirectResponse):
        return user
    page = StudioPage(user)
    page.build()
    await ui.context.client.connected()
    await page.load(photo, version)
    return None


class StudioPage:
    """One visitor's studio: plain state plus the components; no ORM objects are kept."""

    def __init__(self, user: CurrentUser) -> None:
        self.user = user
        self.root_id: str | None = None
        self.history = History()
        self.palette: ToolPalette | None = None
        self.ready = False  # set once the parts built after connecting exist
        self.sheets = Sheets()
        self.address = ""  # the path the browser shows, once the page changed it

    def build(self) -> None:
        self.client = ui.context.client
        ui.add_css(theme.STUDIO_CSS)
        self.shortcuts = shortcuts.Shortcuts(
            shortcuts.Actions(
                undo=self.undo,
                redo=self.redo,
                toggle_compare=self.toggle_compare,
                download=self.open_download,
                brush_smaller=lambda: self.erase.painter.shrink() if self.ready else None,
                brush_larger=lambda: self.erase.painter.grow() if self.ready else None,
                toggle_eraser=self._toggle_eraser,
                upload=self._pick_files,
                focus_prompt=lambda: self.tools.prompt.focus() if self.tools.prompt is not None else None,
            )
        )
        with frame("Studio", viewer=viewer_of(self.user), footer=False):
            with tagged(ui.element("div").classes("pixora-studio"), "studio"):
                self._left()
                self._center()
                self._right()
            bottom_nav(
                [
                    ("photo_library", "Photos", lambda: self.sheets.toggle("left"), "nav-photos"),
                    ("auto_fix_high", "Tools", lambda: self.sheets.toggle("right"), "nav-tools"),
                    ("compare", "Compare", self.toggle_compare, "nav-compare"),
                    ("download", "Save", self.open_download, "nav-download"),
                ]
            )
        self.undo_bar = UndoBar(self.client.layout)
        self.client.on_delete(studio.watch_jobs(self.user.id, self._job_changed))
        self.usage = UsageGate(self.user, show=self.tools.show_usage)
        self._refresh_enabled()

    def _left(self) -> None:
        with self.sheets.add("left", "Your photos", mark="library-panel"):
            self.library = LibraryPanel(
                user_id=self.user.id,
                still_signed_in=lambda: still_signed_in(self.user.id),
                on_open=self.open_photo,
                on_delete=self.delete_photo,
                on_renamed=self._renamed,
                on_uploaded=self._uploaded,
                on_create=self.create_pictures,
            )

    def _center(self) -> None:
        with ui.column().classes("min-w-0 min-h-0 h-full gap-0 no-wrap"):
            self.toolbar = StudioToolbar(
                on_rename=lambda: self.library.rename(self.root_id) if self.root_id else None,
                on_compare=self.toggle_compare,
                on_zoom=self._zoom,
                on_download=self.open_download,
                on_shortcuts=self.shortcuts.show_list,
            )
            with ui.element("div").classes("w-full grow min-h-0 relative") as self.canvas_box:
                self.canvas = CompareView(on_stroke=self._stroke)
                self.frame_preview = BoxPreview(self.canvas, user_id=self.user.id)
                with self.canvas:
                    self.empty_title = canvas_placeholder.create(on_upload=self._pick_files)
            self.strip = HistoryStrip(
                self.history,
                on_select=self.select_version,
                on_undo=self.undo,
                on_redo=self.redo,
                on_delete=self.delete_version,
            )

    def _canvas_overlays(self) -> None:
        """The job status and the erase brush float over the photo, where the eyes are (phone and desktop)."""
        with ui.element("div").classes("absolute top-3 left-1/2 -translate-x-1/2 z-10 w-[min(440px,calc(100%-24px))]"):
            self.jobs = JobPanel(on_cancel=self.cancel_job, on_retry=self.retry)
        self.erase = ErasePanel(
            self.canvas,
            on_erase=lambda: self.palette and self.palette.open_tool and self.palette.apply(self.palette.open_tool),
            on_close=self._close_tool,
        )
        self.edits = EditJobs(
            user_id=self.user.id,
            panel=self.jobs,
            on_usage=self.usage.refresh,
            on_limit=self.usage.open_upgrade,
            on_started=self.sheets.close,
            on_finished=self._job_finished,
        )

    def _right(self) -> None:
        with self.sheets.add("right", "Tools", mark="tools-panel"):
            self.tools = ToolsPanel(self.user)

    def _style_preview(self, preset: str) -> str | None:
        version = self.history.current
        return create.style_preview_url(version.preview_url, preset) if version else None

    async def load(self, photo: str | None, version: str | None = None) -> None:
        # Built after the browser connected: the response does not wait for them (page builders have 3 s).
        with self.canvas_box:
            self._canvas_overlays()
            self.batch = BatchPanel.attach(self, lambda: still_signed_in(self.user.id))  # photos selected: a batch
        with self.client.layout:
            self.download = DownloadDialog(user_id=self.user.id, history=lambda: self.history)
        self.palette = self.tools.build_tools(
            on_prompt=self.apply_prompt,
            on_apply=self.batch.route(self.apply_tool),
            on_open=self._tool_opened,
            on_change=self._params_changed,
            image_choices=self.library.choices,
            style_preview=self._style_preview,
        )
        # A described edit goes the tools' way: the selection's batch (cost dialog first), else the open photo.
        self._prompt_edit = self.batch.route(lambda _tool, params, _provider: self.prompt_open_photo(params["prompt"]))
        self.library.on_selection(lambda selected: self.tools.set_photos(len(selected)))
        background_tasks.create(self.strip.learn_zone(self.client), name="browser time zone")
        self.ready = True
        await self.library.reload()
        if photo:
            if not await self.open_photo(photo, version, quiet=True):
                # Not this account's photo (or deleted): say so calmly and offer the library.
                self.empty_title.set_text("That photo was not found. Pick one from your library.")
                self._show_address()
                self.sheets.toggle("left", True)
        elif self.library.photos:
            await self.open_photo(self.library.photos[0].id)
        else:
            self.empty_title.set_text("Start with a photo")
            self.sheets.toggle("left", True)

    async def _uploaded(self, card: studio.PhotoCard) -> None:
        self.library.add(card)
        await self.open_photo(card.id)

    def _pick_files(self) -> None:
        self.sheets.toggle("left", True)
        self.library.upload.pick()

    async def open_photo(self, root_id: str, version_id: str | None = None, *, quiet: bool = False) -> bool:
        """Show a photo (its newest version unless `version_id`); False when it is not the user's."""
        if root_id == self.root_id and version_id is None and self.history.versions:
            self.sheets.close()  # already on screen: nothing to load
            return True
        versions = await studio.versions_of(self.user.id, root_id)
        if not versions:
            if not quiet:
                ui.notify("That photo is no longer available", type="warning")
            return False
        if root_id != self.root_id:
            self.history = History()
            self.erase.painter.clear()
        self.root_id = root_id
        self.history.load(versions, version_id or (self.history.current_id if self.history.current_id else None))
        self.strip.show(self.history)  # before the buttons refresh: they must see this photo's thumbnails
        self.library.mark_open(root_id)
        self.sheets.close()
        self._show_current()
        return True

    def _show_current(self) -> None:
        version = self.history.current
        self._show_address()
        if version is None:
            self.canvas.clear_image()
            self.toolbar.title.set_text("")
            self._refresh_enabled()
            return
        parent = self.history.parent_of(version)
        self.canvas.show(
            src=version.full_url,
            preview_src=version.preview_url,
            before=parent.full_url if parent else "",
            width=version.width,
            height=version.height,
            checker=version.may_have_alpha,
        )
        self.erase.painter.attach(version.width, version.height)
        self.toolbar.title.set_text(
            f"{self.history.versions[0].name} · {version.label} · {version.width}×{version.height}"
        )
        self._update_overlay()
        self.strip.refresh_buttons()
        self._refresh_enabled()
        self.tools.version_changed()

    def _show_address(self) -> None:
        """The browser's address follows the photo and version on screen (no new history entry)."""
        current = self.history.current
        address = f"/studio/{self.root_id}?v={current.id}" if self.root_id and current else "/studio"
        if address != self.address:
            self.address = address
            ui.navigate.history.replace(address)

    def _refresh_enabled(self) -> None:
        has = self.history.current is not None
        if self.palette is not None:
            self.palette.set_enabled(has)
        self.toolbar.refresh(has_photo=has, can_compare=has and self.canvas.has_before, comparing=self.canvas.comparing)

    def select_version(self, version_id: str) -> None:
        if self.history.select(version_id):
            self._show_current()

    def undo(self) -> None:
        if self.history.undo():
            self._show_current()

    def redo(self) -> None:
        if self.history.redo():
            self._show_current()

    async def delete_version(self, version_id: str) -> None:
        if not await still_signed_in(self.user.id):
            return
        version = self.history.by_id(version_id)
        if version is None or self.root_id is None:
            return
        parent_id = version.parent_id
        try:
            ids = await studio.delete_photo(self.user.id, version_id)
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return
        await self.open_photo(self.root_id, parent_id)
        self._undo_toast(f"Deleted “{version.label}”", ids, reopen=(self.root_id, version_id))

    async def delete_photo(self, root_id: str) -> None:
        if not await still_signed_in(self.user.id):
            return
        photo = self.library.get(root_id)
        try:
            ids = await studio.delete_photo(self.user.id, root_id)
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.library.remove(root_id)
        if self.root_id == root_id:
            self.root_id = None
            self.history.load([])
            self.strip.show(self.history)
            self._show_current()
            self.empty_title.set_text("Photo deleted")
        self._undo_toast(f"Deleted “{photo.name if photo else 'photo'}”", ids, reopen=(root_id, None))

    def _undo_toast(self, text: str, ids: list[str], *, reopen: tuple[str, str | None]) -> None:
        async def undo() -> None:
            if not await still_signed_in(self.user.id):
                return
            restored = await studio.restore(self.user.id, ids)
            if restored:
                await self.library.reload()
                await self.open_photo(*reopen)
                ui.notify("Restored", type="positive")

        self.undo_bar.show(text, undo)

    async def _renamed(self, photo_id: str) -> None:
        if self.root_id == photo_id:
            await self.open_photo(photo_id, self.history.current_id)

    def _tool_opened(self, tool: str | None) -> None:
        self.frame_preview.showing = True
        erase = studio.painted_mask(tool) is not None
        self.erase.set_active(erase)
        if erase:
            self.sheets.close()  # on a phone the photo must be visible to paint on it
        self._update_overlay()

    def _close_tool(self) -> None:
        if self.palette is not None:
            self.palette.close()

    def _toggle_eraser(self) -> None:
        if self.palette is not None and studio.painted_mask(self.palette.open_tool):
            self.erase.painter.toggle_eraser()

    def _params_changed(self, tool: str, _values: dict[str, Any]) -> None:
        if previews.shows_preview_box(tool):
            self.frame_preview.showing = True
            self._update_overlay()

    def _update_overlay(self) -> None:
        tool = self.palette.open_tool if self.palette else None
        values = self.palette.values(tool) if self.palette is not None and tool is not None else None
        self.frame_preview.update(self.history.current, tool, values)

    async def apply_tool(self, tool: str, params: dict[str, Any], provider: str | None) -> None:
        # Keyboard shortcuts bypass the browser's click lock: the page itself drops a second apply.
        version = self.history.current_id or ""
        await self.edits.one_at_a_time(version, tool, lambda: self._apply_tool(tool, params, provider))

    async def _apply_tool(self, tool: str, params: dict[str, Any], provider: str | None) -> None:
        if not await still_signed_in(self.user.id):
            return
        version = self.history.current
        card = self.palette.cards.get(tool) if self.palette else None
        if version is None or card is None:
            ui.notify("Open a photo first", type="warning")
            return
        if self.usage.blocks(card.costs_credit):
            return
        self.jobs.pending(card.label)
        params = dict(params)
        if (mask_param := studio.painted_mask(tool)) is not None:
            mask = await self.erase.mask_for(self.user.id, version)
            if mask is None:
                self.jobs.hide()
                return
            params[mask_param] = mask
        await self.edits.submit(version.id, EditRequest(tool, params, provider), label=card.label)

    async def apply_prompt(self, text: str) -> None:
        """The prompt box: a new picture when the sentence asks for one, else an edit of the selected
        photos (a batch, like a tool) or, with none selected, of the open photo."""
        if create.creation_prompt(text) and create.generate_provider() is not None:
            await self.prompt_open_photo(text)  # makes the picture; the selection has nothing to do with it
            return
        await self._prompt_edit(studio.PROMPT_TOOL, {"prompt": text}, None)

    async def prompt_open_photo(self, text: str) -> None:
        version = self.history.current_id or ""
        await self.edits.one_at_a_time(version, studio.PROMPT_TOOL, lambda: self._apply_prompt(text))

    async def _apply_prompt(self, text: str) -> None:
        if not await still_signed_in(self.user.id):
            return
        description = create.creation_prompt(text)
        if description and create.generate_provider() is not None:
            await self.create_pictures(description, "1:1", 1)  # a new picture, not an edit of this photo
            return
        version = self.history.current
        if version is None:
            ui.notify("Open a photo first", type="warning")
            return
        if self.usage.blocks(studio.costs_credit(studio.PROMPT_TOOL)):
            return
        self.jobs.pending("Describe an edit")
        request = EditRequest(studio.PROMPT_TOOL, {"prompt": text}, None)
        await self.edits.submit(version.id, request, label=studio.tool_label(studio.PROMPT_TOOL))

    async def create_pictures(self, prompt: str, aspect: str, count: int) -> None:
        if not await still_signed_in(self.user.id):
            return
        if not self.usage.blocks(True):
            await self.edits.create(prompt, aspect, count)

    async def retry(self) -> None:
        request = self.edits.guard.last_request
        if request is None:
            return
        if request.tool == studio.PROMPT_TOOL:
            await self.prompt_open_photo(str(request.params.get("prompt", "")))
        else:
            await self.apply_tool(
                request.tool, {k: v for k, v in request.params.items() if k != "mask"}, request.provider
            )

    async def cancel_job(self) -> None:
        if await still_signed_in(self.user.id):
            await self.edits.cancel()

    async def _job_changed(self, state: JobView) -> None:
        if not self.ready or self.canvas.is_deleted:
            return
        # Called by the job runner, outside any page context: enter this page's.
        with self.client.layout:
            if self.edits.is_mine(state.id):
                await self.edits.changed(state)
            elif state.done:  # another tab's or the API's job: its credit may have been refunded
                await self.usage.refresh()

    async def _job_finished(self, state: JobView, created: bool) -> None:
        """A finished job's event carries the new version: add it where it belongs, no re-listing."""
        new = studio.result_card(state)
        if state.status != "succeeded" or new is None:
            return
        if created:  # a text-to-image result is a new photo
            self.library.add(
                studio.PhotoCard(
                    id=new.id,
                    name=new.name,
                    created_at=new.created_at,
                    width=new.width,
                    height=new.height,
                    preview_url=new.preview_url,
                )
            )
            await self.open_photo(new.id)
            return
        self.library.version_added(new)
        if new.root_id == self.root_id:
            self.erase.painter.clear()
            self.frame_preview.showing = False  # the frame previewed the settings on the photo before this result
            self.history.add(new)
            self.strip.render()
            self._show_current()

    def _zoom(self, kind: str) -> None:
        {"in": self.canvas.zoom_in, "out": self.canvas.zoom_out, "fit": self.canvas.fit}[kind]()

    def toggle_compare(self) -> None:
        self.canvas.set_comparing(not self.canvas.comparing)
        if not self.canvas.has_before and self.history.current is not None:
            ui.notify("This is the original: apply a tool to compare", type="info")
        self._refresh_enabled()

    def _stroke(self, raw: dict[str, Any]) -> None:
        if self.ready:
            self.erase.painter.add_stroke(raw)

    def open_download(self) -> None:
        if self.history.current is None:
            ui.notify("Open a photo first", type="warning")
            return
        self.download.open()
