"""The Magic Studio at `/studio`: upload, library, canvas with compare, tools, prompt, jobs, versions.

The builder renders the skeleton at once; the library and the photo load after the browser has
connected (page builders must answer within 3 s). Images reach the browser only as signed media
URLs; every update of the page is a small in-place change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ElementFilter, background_tasks, ui

from components import theme
from components.compare_view import CompareView
from components.create_dialog import CreateDialog
from components.frame import frame
from components.history_strip import History, HistoryStrip
from components.job_panel import JobPanel
from components.mask_painter import MaskPainter
from components.prompt_box import PromptBox
from components.shortcuts import shortcuts_dialog
from components.style_panel import StylePanel
from components.tool_palette import INSTANT_FEEDBACK_JS, ToolPalette
from components.upgrade_dialog import open_upgrade_dialog
from components.upload_zone import UploadZone
from pages.guard import signed_in, still_signed_in, viewer_of
from pixora_ui.auth import verify
from pixora_ui.auth.current import CurrentUser
from pixora_ui.auth.errors import AccountError
from pixora_ui.billing.service import payments_enabled
from pixora_ui.services import create, previews, studio
from pixora_ui.services.job_views import JobView
from pixora_ui.services.plans import Usage
from pixora_ui.services.usage import LIMIT_MESSAGE
from pixora_ui.settings import get_settings

LIBRARY_PAGE = 30  # photos per "Show more": one update stays far below 256 KB
RESUBMIT_WINDOW_S = 5.0  # an identical apply this soon after reuses the idempotency key: one credit

STUDIO_CSS = """
.pixora-studio { display: grid; grid-template-columns: 280px minmax(0, 1fr) 360px; height: calc(100dvh - 56px);
  width: 100%; overflow: hidden; }
.pixora-panel { overflow-y: auto; overscroll-behavior: contain; }
.pixora-left { border-right: 1px solid rgba(0,0,0,.06); }
.pixora-right { border-left: 1px solid rgba(0,0,0,.06); }
body.body--dark .pixora-left, body.body--dark .pixora-right { border-color: rgba(255,255,255,.08); }
.pixora-sheet-head, .pixora-bottom-nav { display: none; }
.pixora-photo { display: flex; gap: 10px; align-items: center; padding: 6px; border-radius: 12px; cursor: pointer;
  border: 1px solid transparent; }
.pixora-photo:hover { background: rgba(109,94,252,.06); }
.pixora-photo.is-open { background: rgba(109,94,252,.10); border-color: rgba(109,94,252,.35); }
.pixora-photo img { width: 48px; height: 48px; object-fit: cover; border-radius: 8px; flex: none; }
.pixora-tool.q-expansion--expanded { background: rgba(109,94,252,.06); }
@media (max-width: 1023px) {
  .pixora-studio { grid-template-columns: minmax(0, 1fr); height: calc(100dvh - 56px - 60px); }
  .pixora-sheet { position: fixed; left: 0; right: 0; bottom: 60px; max-height: 72dvh; z-index: 2000;
    transform: translateY(calc(100% + 70px)); transition: transform .22s ease; border-radius: 18px 18px 0 0;
    box-shadow: 0 -12px 40px rgba(0,0,0,.25); border: none !important; }
  body.body--light .pixora-sheet { background: #fff; }
  body.body--dark .pixora-sheet { background: #17171f; }
  .pixora-sheet.is-open { transform: none; }
  .pixora-sheet-head { display: flex; }
  .pixora-bottom-nav { display: flex; position: fixed; left: 0; right: 0; bottom: 0; height: 60px; z-index: 2001;
    border-top: 1px solid rgba(0,0,0,.08); }
  body.body--light .pixora-bottom-nav { background: rgba(255,255,255,.96); }
  body.body--dark .pixora-bottom-nav { background: rgba(20,20,28,.96); border-color: rgba(255,255,255,.08); }
}
"""


@ui.page("/studio", response_timeout=10)
async def studio_page(request: Request, photo: str | None = None) -> RedirectResponse | None:
    user = await signed_in(request)
    if isinstance(user, RedirectResponse):
        return user
    page = StudioPage(user)
    page.build()
    await ui.context.client.connected()
    await page.load(photo)
    return None


class StudioPage:
    """One visitor's studio: plain state plus the components; no ORM objects are kept."""

    def __init__(self, user: CurrentUser) -> None:
        self.user = user
        self.usage: Usage = user.usage
        self.photos: list[studio.PhotoCard] = []
        self.root_id: str | None = None
        self.history = History()
        self.my_jobs: dict[str, str] = {}  # job id -> the version it was applied to
        self.active_job: str | None = None
        self.unsubscribe: Any = None
        self.undo_bar: ui.row | None = None
        self.palette: ToolPalette | None = None
        self.ready = False  # set once the parts built after connecting exist
        self.rename: ui.dialog | None = None
        self.more_button: ui.button | None = None
        self.crop_token = 0
        self.shown = 0
        self.rename_target: str | None = None
        self.prompt: PromptBox | None = None
        self.style_panel: StylePanel | None = None
        self.create_dialog: CreateDialog | None = None
        self.created_jobs: set[str] = set()  # text-to-image jobs: each result is a new photo
        self.last_request: tuple[str, dict[str, Any], str | None] | None = None
        self.in_flight: set[tuple[str, str]] = set()  # (photo version, tool) being submitted
        # (fingerprint, when, idempotency key, job id) of the last submit
        self.recent_submit: tuple[str, float, str, str | None] | None = None
        self.shared: dict[str, bool] = {}  # version id -> shared, once changed on this page
        self.share_loading = False

    # ------------------------------------------------------------------ layout

    def build(self) -> None:
        self.client = ui.context.client
        ui.add_css(STUDIO_CSS)
        with frame("Studio", viewer=viewer_of(self.user), footer=False):
            with ui.element("div").classes("pixora-studio").mark("studio").props("data-testid=studio"):
                self._left()
                self._center()
                self._right()
            self._bottom_nav()
        self.shortcuts: ui.dialog | None = None  # built on first use: most visits never open it
        ui.keyboard(on_key=self._key, repeating=False)
        self.unsubscribe = studio.watch_jobs(self.user.id, self._job_changed)
        ui.context.client.on_delete(self._cleanup)
        self._refresh_enabled()

    def _sheet_head(self, title: str, sheet: str) -> None:
        with ui.row().classes("pixora-sheet-head w-full items-center justify-between px-4 pt-3"):
            ui.element("div").classes(
                "w-10 h-1 rounded-full bg-slate-400/40 absolute left-1/2 -translate-x-1/2 top-1.5"
            )
            ui.label(title).classes(f"text-base {theme.HEADING}")
            ui.button(icon="close", on_click=lambda: self._sheet(sheet, False)).props("flat round dense")

    def _left(self) -> None:
        with (
            ui.column()
            .classes("pixora-panel pixora-left pixora-sheet p-3 gap-3")
            .mark("library-panel")
            .props("data-testid=library-panel") as self.left
        ):
            self._sheet_head("Your photos", "left")
            self.upload = UploadZone(
                user_id=self.user.id,
                on_uploaded=self._uploaded,
                still_signed_in=lambda: still_signed_in(self.user.id),
            )
            creator = create.generate_provider()
            if creator is not None:
                ui.button("Create with AI", icon="auto_awesome", on_click=lambda: self._open_create(creator[1])).props(
                    "outline no-caps"
                ).classes("w-full").mark("create-open").props("data-testid=create-open")
            with ui.row().classes("w-full items-center justify-between px-1"):
                ui.label("Library").classes(f"text-xs uppercase tracking-wider font-semibold {theme.MUTED}")
                self.count = ui.label("").classes(f"text-xs {theme.MUTED}")
            self.library = ui.column().classes("w-full gap-1").mark("library").props("data-testid=library")
            with self.library:
                for _ in range(3):
                    ui.skeleton().classes("w-full h-14 rounded-xl")

    def _center(self) -> None:
        with ui.column().classes("min-w-0 min-h-0 h-full gap-0 no-wrap"):
            with (
                ui.row()
                .classes("w-full items-center no-wrap gap-1 px-3 py-2 min-h-[52px]")
                .mark("toolbar")
                .props("data-testid=toolbar")
            ):
                self.title = (
                    ui.label("")
                    .classes(f"text-sm font-semibold truncate {theme.HEADING}")
                    .mark("photo-title")
                    .props("data-testid=photo-title")
                )
                self.rename_button = (
                    ui.button(icon="edit", on_click=self._rename_dialog)
                    .props("flat round dense size=sm")
                    .tooltip("Rename")
                    .mark("rename")
                    .props("data-testid=rename")
                )
                ui.space()
                self.compare_button = (
                    ui.button(icon="compare", on_click=self.toggle_compare)
                    .props("flat dense no-caps")
                    .classes("max-lg:hidden")
                    .tooltip("Before/after (C) · hold B for the original")
                    .mark("compare-toggle")
                    .props("data-testid=compare-toggle")
                )
                with ui.row().classes("gap-0 no-wrap max-sm:hidden"):
                    ui.button(icon="zoom_out", on_click=lambda: self._zoom("out")).props(
                        "flat round dense data-testid=zoom-out"
                    )
                    ui.button(icon="fit_screen", on_click=lambda: self._zoom("fit")).props(
                        "flat round dense data-testid=zoom-fit"
                    ).tooltip("Fit (0)")
                    ui.button(icon="zoom_in", on_click=lambda: self._zoom("in")).props(
                        "flat round dense data-testid=zoom-in"
                    )
                self.download_button = (
                    ui.button("Download", icon="download", on_click=self.open_download)
                    .props("unelevated dense no-caps")
                    .classes("px-3 max-lg:hidden")
                    .mark("download")
                    .props("data-testid=download")
                )
                ui.button(icon="keyboard", on_click=self._show_shortcuts).props("flat round dense").tooltip(
                    "Shortcuts (?)"
                ).classes("max-sm:hidden")
            with ui.element("div").classes("w-full grow min-h-0 relative") as self.canvas_box:
                self.canvas = CompareView(on_stroke=self._stroke)
                with self.canvas:
                    with (
                        ui.column()
                        .classes("items-center gap-3 text-center max-w-[420px]")
                        .mark("canvas-empty")
                        .props("data-testid=canvas-empty")
                    ):
                        ui.icon("photo_library", size="56px").classes("text-primary/60")
                        self.empty_title = ui.label("Loading your studio…").classes(f"text-lg {theme.HEADING}")
                        ui.label("Upload a photo, or pick one from your library, then choose a tool.").classes(
                            f"text-sm {theme.MUTED}"
                        )
                        ui.button("Upload photos", icon="upload", on_click=self._pick_files).props(
                            "unelevated no-caps"
                        ).mark("empty-upload").props("data-testid=empty-upload")
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
        with (
            ui.column()
            .classes(
                f"{theme.CARD} absolute bottom-3 left-1/2 -translate-x-1/2 z-10 p-3 gap-1"
                " w-[min(480px,calc(100%-24px))]"
            )
            .mark("erase-panel")
            .props("data-testid=erase-panel") as self.erase_panel
        ):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.icon("healing", size="20px").classes("text-primary")
                ui.label("Magic erase").classes("text-sm font-semibold grow")
                ui.button("Erase", icon="auto_fix_high").on(
                    "click",
                    lambda: self.palette and self.palette.open_tool and self.palette.apply(self.palette.open_tool),
                    js_handler=INSTANT_FEEDBACK_JS,
                ).props("unelevated dense no-caps").classes("px-3").mark("erase-apply").props("data-testid=erase-apply")
                ui.button(icon="close", on_click=self._close_tool).props("flat round dense size=sm")
            self.painter = MaskPainter(self.canvas)
        self.erase_panel.set_visibility(False)

    def _right(self) -> None:
        with (
            ui.column()
            .classes("pixora-panel pixora-right pixora-sheet p-3 gap-3")
            .mark("tools-panel")
            .props("data-testid=tools-panel") as self.right
        ):
            self._sheet_head("Tools", "right")
            self.credit = (
                ui.label(self.usage.label)
                .classes("lg:hidden text-xs px-3 py-1 rounded-full bg-primary/10 text-primary font-medium self-start")
                .mark("credit-label")
                .props("data-testid=credit-label")
            )
            if not self.user.email_verified and self.usage.limit is not None:
                self._verify_notice()
            self.tools_box = ui.column().classes("w-full gap-3")
            with self.tools_box:
                for height in ("h-10", "h-16", "h-14", "h-14", "h-14"):
                    ui.skeleton().classes(f"w-full {height} rounded-xl")

    def _verify_notice(self) -> None:
        """An unconfirmed address: say how to get the free edits, and offer the link again."""
        with ui.column().classes("w-full gap-2 rounded-xl p-3 bg-amber-50 dark:bg-amber-950/40").mark("verify-notice"):
            ui.label(
                f"Confirm your e-mail address to get your {get_settings().free_edit_limit} free AI edits: "
                f"open the link we sent to {self.user.email}. Simple edits (crop, rotate, resize) work already."
            ).classes("text-sm")

            async def resend() -> None:
                try:
                    sent = await verify.resend(user_id=self.user.id)
                except AccountError as exc:
                    ui.notify(str(exc), type="warning")
                    return
                if sent:
                    ui.notify(f"A new link is on its way to {self.user.email}.", type="positive")
                else:
                    ui.notify("Your address is already confirmed. Reload the page to start editing.")

            ui.button("Send the link again", on_click=resend).props("outline dense no-caps").mark("resend-verification")

    def _build_tools(self) -> None:
        """The prompt and the palette: the heaviest part of the page, built once the browser is connected."""
        self.tools_box.clear()
        with self.tools_box:
            self.prompt = PromptBox(on_submit=self.apply_prompt)
            self.palette = ToolPalette(
                # The prompt has its own box above the palette.
                [c for c in studio.tool_cards() if c.name != studio.PROMPT_TOOL],
                on_apply=self.apply_tool,
                on_open=self._tool_opened,
                on_change=self._params_changed,
                image_choices=lambda: [(p.id, p.name) for p in self.photos],
                custom={create.STYLE_TOOL: self._style_panel},
            )

    def _style_panel(self, _card: studio.ToolCard) -> None:
        def preview(preset: str) -> str | None:
            version = self.history.current
            return create.style_preview_url(version.preview_url, preset) if version else None

        assert self.palette is not None
        self.style_panel = StylePanel(
            on_apply=lambda params, provider: self.apply_tool(create.STYLE_TOOL, params, provider),
            preview_url=preview,
            ai_provider=create.restyle_provider(),
            image_choices=lambda: [(p.id, p.name) for p in self.photos],
            register_button=self.palette.register_apply,
        )

    def _bottom_nav(self) -> None:
        with (
            ui.row()
            .classes("pixora-bottom-nav items-center justify-around no-wrap px-2")
            .mark("bottom-nav")
            .props("data-testid=bottom-nav")
        ):
            for icon, label, action, mark in (
                ("photo_library", "Photos", lambda: self._sheet("left"), "nav-photos"),
                ("auto_fix_high", "Tools", lambda: self._sheet("right"), "nav-tools"),
                ("compare", "Compare", self.toggle_compare, "nav-compare"),
                ("download", "Save", self.open_download, "nav-download"),
            ):
                with (
                    ui.button(on_click=action)
                    .props("flat no-caps stack dense")
                    .classes("text-xs")
                    .mark(mark)
                    .props(f"data-testid={mark}")
                ):
                    ui.icon(icon)
                    ui.label(label)

    def _sheet(self, which: str, open_: bool | None = None) -> None:
        sheet, other = (self.left, self.right) if which == "left" else (self.right, self.left)
        is_open = "is-open" in sheet.classes
        target = (not is_open) if open_ is None else open_
        other.classes(remove="is-open")
        sheet.classes(add="is-open") if target else sheet.classes(remove="is-open")

    def _close_sheets(self) -> None:
        self.left.classes(remove="is-open")
        self.right.classes(remove="is-open")

    # ------------------------------------------------------------------ loading

    async def load(self, photo: str | None) -> None:
        # Built after the browser connected: the response does not wait for them (page builders have 3 s).
        with self.canvas_box:
            self._canvas_overlays()
        with self.client.layout:
            self._download_dialog()
        self._build_tools()
        self.ready = True
        await self.reload_library()
        wanted = photo if photo and any(p.id == photo for p in self.photos) else None
        if wanted is None and self.photos:
            wanted = self.photos[0].id
        if wanted:
            await self.open_photo(wanted)
        else:
            self.empty_title.set_text("Start with a photo")
            self._sheet("left", True) if not self.photos else None

    async def reload_library(self) -> None:
        self.photos = await studio.library_for(self.user.id)
        self._render_library()

    def _render_library(self) -> None:
        """The first page of the library; "Show more" appends the next (keeps each update small)."""
        self.library.clear()
        self.count.set_text(f"{len(self.photos)} photo{'s' if len(self.photos) != 1 else ''}" if self.photos else "")
        self.shown = 0
        with self.library:
            if not self.photos:
                ui.label("No photos yet. Drop some above.").classes(f"text-sm {theme.MUTED} px-1 py-2")
        self._more_photos()

    def _more_photos(self) -> None:
        if self.more_button is not None and not self.more_button.is_deleted:
            self.more_button.delete()
        self.more_button = None
        start, end = self.shown, min(len(self.photos), self.shown + LIBRARY_PAGE)
        with self.library:
            for index in range(start, end):
                self._photo_row(index, self.photos[index])
            if end < len(self.photos):
                self.more_button = (
                    ui.button(f"Show more ({len(self.photos) - end})", on_click=self._more_photos)
                    .props("flat no-caps dense")
                    .classes("w-full")
                    .mark("library-more")
                    .props("data-testid=library-more")
                )
        self.shown = end

    def _photo_row(self, index: int, photo: studio.PhotoCard) -> None:
        classes = "pixora-photo w-full" + (" is-open" if photo.id == self.root_id else "")
        with (
            ui.element("div")
            .classes(classes)
            .on("click", lambda p=photo.id: self.open_photo(p))
            .props(f'data-photo="{photo.id}"')
            .mark(f"photo-{index}")
            .props("data-testid=" + f"photo-{index}")
        ):
            ui.element("img").props(f'src="{photo.preview_url}" loading="lazy" alt="" draggable="false"')
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(photo.name).classes("text-sm font-medium truncate w-full")
                edits = f" · {photo.versions} edit{'s' if photo.versions != 1 else ''}" if photo.versions else ""
                ui.label(f"{photo.created_at:%d %b %Y}{edits}").classes(f"text-xs {theme.MUTED}")
            # The menu button must not also open the photo; stopping the click needs no server round trip.
            with ui.button(icon="more_vert").props("flat round dense size=sm").on("click.stop", js_handler="() => {}"):
                with ui.menu():
                    ui.menu_item("Rename", on_click=lambda p=photo: self._rename_dialog(p.id, p.name))
                    ui.menu_item("Delete", on_click=lambda p=photo: self.delete_photo(p.id)).mark(
                        f"delete-photo-{index}"
                    ).props("data-testid=" + f"delete-photo-{index}")

    async def _uploaded(self, card: studio.PhotoCard) -> None:
        self.photos = [card, *[p for p in self.photos if p.id != card.id]]
        self._render_library()
        await self.open_photo(card.id)

    def _pick_files(self) -> None:
        self._sheet("left", True)
        self.upload.pick()

    async def open_photo(self, root_id: str, version_id: str | None = None) -> None:
        if root_id == self.root_id and version_id is None and self.history.versions:
            self._close_sheets()  # already on screen: nothing to load
            return
        versions = await studio.versions_of(self.user.id, root_id)
        if not versions:
            ui.notify("That photo is no longer available", type="warning")
            return
        if root_id != self.root_id:
            self.history = self.strip.history = History()
            self.painter.clear()
        self.root_id = root_id
        self.history.load(versions, version_id or (self.history.current_id if self.history.current_id else None))
        for child in self.library.default_slot.children:
            child.classes(add="is-open") if child.props.get("data-photo") == root_id else child.classes(
                remove="is-open"
            )
        self._close_sheets()
        self._show_current()
        self.strip.render()

    def _show_current(self) -> None:
        version = self.history.current
        if version is None:
            self.canvas.clear_image()
            self.title.set_text("")
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
        self.painter.attach(version.width, version.height)
        self.title.set_text(f"{self.history.versions[0].name} · {version.label} · {version.width}×{version.height}")
        self._update_overlay()
        self.strip.refresh_buttons()
        self._refresh_enabled()
        if self.style_panel is not None:
            self.style_panel.refresh()

    def _refresh_enabled(self) -> None:
        has = self.history.current is not None
        if self.palette is not None:
            self.palette.set_enabled(has)
        self.download_button.set_enabled(has)
        self.rename_button.set_visibility(has)
        self.compare_button.set_enabled(has and self.canvas.has_before)
        self.compare_button.props("color=primary" if self.canvas.comparing else "color=grey-7")

    # ------------------------------------------------------------------ versions

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
        # The menu that called this is rebuilt below: work in the page's context, not the menu's.
        with self.client.layout:
            await self._delete_photo(root_id)

    async def _delete_photo(self, root_id: str) -> None:
        if not await still_signed_in(self.user.id):
            return
        photo = next((p for p in self.photos if p.id == root_id), None)
        try:
            ids = await studio.delete_photo(self.user.id, root_id)
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.photos = [p for p in self.photos if p.id != root_id]
        self._render_library()
        if self.root_id == root_id:
            self.root_id = None
            self.history.load([])
            self.strip.render()
            self._show_current()
            self.empty_title.set_text("Photo deleted")
        self._undo_toast(f"Deleted “{photo.name if photo else 'photo'}”", ids, reopen=(root_id, None))

    def _undo_toast(self, text: str, ids: list[str], *, reopen: tuple[str, str | None]) -> None:
        async def undo() -> None:
            if not await still_signed_in(self.user.id):
                return
            restored = await studio.restore(self.user.id, ids)
            if restored:
                await self.reload_library()
                await self.open_photo(*reopen)
                ui.notify("Restored", type="positive")

        self._show_undo_bar(text, undo)

    def _show_undo_bar(self, text: str, undo: Any) -> None:
        if self.undo_bar is not None and not self.undo_bar.is_deleted:
            self.undo_bar.delete()
        with (
            self.client.layout,
            ui.row()
            .classes(
                "fixed bottom-20 lg:bottom-6 left-1/2 -translate-x-1/2 z-[3000] items-center gap-3 px-4 py-2 "
                "rounded-xl bg-slate-900 text-white shadow-lg no-wrap"
            )
            .mark("undo-bar")
            .props("data-testid=undo-bar") as bar,
        ):
            ui.label(text).classes("text-sm")

            async def do_undo() -> None:
                bar.delete()
                await undo()

            ui.button("Undo", on_click=do_undo).props("flat dense no-caps color=white").mark("undo-delete").props(
                "data-testid=undo-delete"
            )
        self.undo_bar = bar
        with bar:
            ui.timer(8.0, lambda: None if bar.is_deleted else bar.delete(), once=True)

    # ------------------------------------------------------------------ renaming

    def _rename_dialog(self, asset_id: str | None = None, name: str | None = None) -> None:
        target = asset_id or self.root_id
        if target is None:
            return
        if self.rename is None:
            with self.client.layout:
                self._build_rename_dialog()
        assert self.rename is not None
        self.rename_target = target
        self.rename_field.props(remove="error error-message")
        self.rename_field.set_value(name or next((p.name for p in self.photos if p.id == target), ""))
        self.rename.open()

    def _build_rename_dialog(self) -> None:
        """One rename dialog per page, reused (a new dialog per click would pile up elements)."""
        with ui.dialog() as self.rename, ui.card().classes(f"{theme.CARD} p-5 w-[380px] max-w-[94vw] gap-3"):
            ui.label("Rename photo").classes(f"text-lg {theme.HEADING}")
            self.rename_field = (
                ui.input("Name")
                .props("outlined autofocus")
                .classes("w-full")
                .mark("rename-input")
                .props("data-testid=rename-input")
            )
            self.rename_field.on("keydown.enter", self._save_rename)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.rename.close).props("flat no-caps data-testid=rename-cancel")
                ui.button("Save", on_click=self._save_rename).props("unelevated no-caps").mark("rename-save").props(
                    "data-testid=rename-save"
                )

    async def _save_rename(self) -> None:
        target = self.rename_target
        if target is None or self.rename is None:
            return
        if not await still_signed_in(self.user.id):
            return
        try:
            new_name = await studio.rename_photo(self.user.id, target, self.rename_field.value or "")
        except studio.StudioError as exc:
            self.rename_field.props(f'error error-message="{exc}"')
            return
        self.rename.close()
        self.photos = [
            studio.PhotoCard(**{**_fields(p), "name": new_name}) if p.id == target else p for p in self.photos
        ]
        self._render_library()
        if self.root_id == target:
            await self.open_photo(target, self.history.current_id)

    # ------------------------------------------------------------------ tools

    def _tool_opened(self, tool: str | None) -> None:
        erase = studio.painted_mask(tool) is not None
        self.erase_panel.set_visibility(erase)
        if erase:
            self._close_sheets()  # on a phone the photo must be visible to paint on it
            self.painter.activate()
        else:
            self.painter.deactivate()
        self._update_overlay()

    def _close_tool(self) -> None:
        if self.palette is not None:
            self.palette.close()

    def _params_changed(self, tool: str, _values: dict[str, Any]) -> None:
        if previews.shows_preview_box(tool):
            self._update_overlay()

    def _update_overlay(self) -> None:
        version = self.history.current
        tool = self.palette.open_tool if self.palette else None
        box = None
        self.crop_token += 1  # a smart-crop preview still on its way is for an older state
        if version is not None and self.palette is not None and tool is not None:
            box = previews.preview_box(tool, self.palette.values(tool), width=version.width, height=version.height)
        self.canvas.set_overlay(box)
        if version is not None and self.palette is not None and tool == previews.SMART_CROP_TOOL:
            background_tasks.create(
                self._smart_crop_preview(self.crop_token, version, self.palette.values(tool)),
                name="smart-crop preview",
            )

    async def _smart_crop_preview(self, token: int, version: studio.VersionCard, params: dict[str, Any]) -> None:
        await asyncio.sleep(0.4)  # typing a size fires a change per key: only the last one runs the engine
        if token != self.crop_token:
            return
        box = await previews.smart_crop_preview(
            self.user.id, asset_id=version.id, params=params, width=version.width, height=version.height
        )
        if token == self.crop_token and box is not None and not self.canvas.is_deleted:
            self.canvas.set_overlay(box)

    def _needs_upgrade(self, costs_credit: bool) -> bool:
        if costs_credit and self.usage.exhausted:
            self._open_upgrade()
            return True
        return False

    def _claim(self, tool: str) -> tuple[str, str] | None:
        """Mark a submit for the current photo and tool as in flight; None when one already is.

        Keyboard shortcuts bypass the browser's click lock, so the page itself drops the second apply."""
        version = self.history.current
        flight = (version.id if version else "", tool)
        if flight in self.in_flight:
            return None
        self.in_flight.add(flight)
        return flight

    async def apply_tool(self, tool: str, params: dict[str, Any], provider: str | None) -> None:
        flight = self._claim(tool)
        if flight is None:
            return
        try:
            await self._apply_tool(tool, params, provider)
        finally:
            self.in_flight.discard(flight)

    async def _apply_tool(self, tool: str, params: dict[str, Any], provider: str | None) -> None:
        if not await still_signed_in(self.user.id):
            return
        version = self.history.current
        card = self.palette.cards.get(tool) if self.palette else None
        if version is None or card is None:
            ui.notify("Open a photo first", type="warning")
            return
        if self._needs_upgrade(card.costs_credit):
            return
        self.jobs.pending(card.label)
        params = dict(params)
        if (mask_param := studio.painted_mask(tool)) is not None:
            if not self.painter.has_paint:
                self.jobs.hide()
                ui.notify("Paint over what you want to erase first", type="warning")
                return
            try:
                params[mask_param] = await studio.create_mask(
                    self.user.id,
                    for_asset_id=version.id,
                    strokes=self.painter.strokes,
                    width=version.width,
                    height=version.height,
                )
            except studio.StudioError as exc:
                self.jobs.hide()
                ui.notify(str(exc), type="negative")
                return
        self.last_request = (tool, params, provider)
        await self._submit(version.id, tool, params, provider, label=card.label)

    async def apply_prompt(self, text: str) -> None:
        flight = self._claim(studio.PROMPT_TOOL)
        if flight is None:
            return
        try:
            await self._apply_prompt(text)
        finally:
            self.in_flight.discard(flight)

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
        if self._needs_upgrade(studio.costs_credit(studio.PROMPT_TOOL)):
            return
        self.jobs.pending("Describe an edit")
        params = {"prompt": text}
        self.last_request = (studio.PROMPT_TOOL, params, None)
        await self._submit(version.id, studio.PROMPT_TOOL, params, None, label=studio.tool_label(studio.PROMPT_TOOL))

    def _open_create(self, provider_label: str) -> None:
        if self.create_dialog is None:
            with self.client.layout:
                self.create_dialog = CreateDialog(on_create=self.create_pictures, provider_label=provider_label)
        self.create_dialog.open()

    async def create_pictures(self, prompt: str, aspect: str, count: int) -> None:
        """Queue text-to-image jobs; each finished picture becomes a new photo and opens."""
        if not await still_signed_in(self.user.id):
            return
        if self._needs_upgrade(True):
            return
        self.jobs.pending("Create")
        try:
            states = await create.submit_generation(self.user.id, prompt=prompt, aspect=aspect, count=count)
        except studio.LimitReachedError:
            self.jobs.hide()
            await self._refresh_usage()
            self._open_upgrade()
            return
        except studio.StudioError as exc:
            self.jobs.show(JobView.refused("Create", str(exc)))
            return
        for state in states:
            self.my_jobs[state.id] = ""
            self.created_jobs.add(state.id)
        self.active_job = states[0].id
        self.jobs.show(states[0])
        self._close_sheets()
        await self._refresh_usage()

    async def retry(self) -> None:
        if self.last_request is not None:
            tool, params, provider = self.last_request
            if tool == studio.PROMPT_TOOL:
                await self.apply_prompt(str(params.get("prompt", "")))
            else:
                await self.apply_tool(tool, {k: v for k, v in params.items() if k != "mask"}, provider)

    async def _submit(
        self, asset_id: str, tool: str, params: dict[str, Any], provider: str | None, *, label: str
    ) -> None:
        key = self._idempotency_key(asset_id, tool, params, provider)
        try:
            state = await studio.submit_edit(
                self.user.id,
                asset_id=asset_id,
                tool=tool,
                params=params,
                provider=provider,
                idempotency_key=key,
            )
        except studio.EmailNotVerifiedError as exc:
            self.jobs.hide()
            ui.notify(str(exc), type="warning", multi_line=True)
            return
        except studio.LimitReachedError:
            self.jobs.hide()
            await self._refresh_usage()
            self._open_upgrade()
            return
        except studio.StudioError as exc:
            self.jobs.show(JobView.refused(label, str(exc)))
            return
        if self.recent_submit is not None and self.recent_submit[2] == key:
            self.recent_submit = (*self.recent_submit[:3], state.id)
        self.my_jobs[state.id] = asset_id
        self.active_job = state.id
        self.jobs.show(state)
        self._close_sheets()
        await self._refresh_usage()
        if state.done:
            await self._job_changed(state)

    def _idempotency_key(self, asset_id: str, tool: str, params: dict[str, Any], provider: str | None) -> str:
        """The same key for the same edit of the same photo asked again within a few seconds (a double
        press): the server then answers with the first job instead of charging a second credit."""
        fingerprint = json.dumps([asset_id, tool, params, provider], sort_keys=True, default=str)
        now = time.monotonic()
        recent = self.recent_submit
        if recent is not None and recent[0] == fingerprint and now - recent[1] < RESUBMIT_WINDOW_S:
            key = recent[2]
        else:
            key = uuid.uuid4().hex
        self.recent_submit = (fingerprint, now, key, recent[3] if recent and recent[2] == key else None)
        return key

    async def cancel_job(self) -> None:
        if self.active_job is None:
            return
        if not await still_signed_in(self.user.id):
            return
        try:
            state = await studio.cancel_edit(self.user.id, self.active_job)
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.jobs.show(state)

    async def _job_changed(self, state: JobView) -> None:
        if state.id not in self.my_jobs or self.canvas.is_deleted:
            return
        # Called by the job runner, outside any page context: enter this page's.
        with self.client.layout:
            await self._job_update(state)

    async def _job_update(self, state: JobView) -> None:
        if state.id in self.created_jobs and state.status == "succeeded":
            state = dataclasses.replace(state, note="Added to your library as a new photo")
        if state.id == self.active_job:
            self.jobs.show(state)
        if not state.done:
            return
        self.my_jobs.pop(state.id, None)
        if state.status in {"failed", "cancelled"} and self.recent_submit and self.recent_submit[3] == state.id:
            self.recent_submit = None  # trying again after a failure or a cancel is a new job
        await self._refresh_usage()
        if state.id in self.created_jobs:
            self.created_jobs.discard(state.id)
            if state.status == "succeeded" and state.result_asset_id:
                await self.reload_library()
                await self.open_photo(state.result_asset_id)
            return
        if state.status == "succeeded" and state.result_asset_id and self.root_id:
            self.painter.clear()
            self.history.added(state.result_asset_id)
            await self.open_photo(self.root_id, state.result_asset_id)
            self.photos = await studio.library_for(self.user.id)
            self._render_library()

    async def _refresh_usage(self) -> None:
        self.usage = await studio.usage_of(self.user.id)
        self.credit.set_text(self.usage.label)
        for label in ElementFilter(kind=ui.label, marker="usage-chip", local_scope=False):
            label.set_text(self.usage.label)

    def _open_upgrade(self) -> None:
        enabled, reason = payments_enabled()
        open_upgrade_dialog(payments_enabled=enabled, reason=reason, message=LIMIT_MESSAGE)

    # ------------------------------------------------------------------ compare, canvas, keyboard

    def _zoom(self, kind: str) -> None:
        {"in": self.canvas.zoom_in, "out": self.canvas.zoom_out, "fit": self.canvas.fit}[kind]()

    def _show_shortcuts(self) -> None:
        if self.shortcuts is None:
            with self.client.layout:
                self.shortcuts = shortcuts_dialog()
        self.shortcuts.open()

    def toggle_compare(self) -> None:
        self.canvas.set_comparing(not self.canvas.comparing)
        if not self.canvas.has_before and self.history.current is not None:
            ui.notify("This is the original: apply a tool to compare", type="info")
        self._refresh_enabled()

    def _stroke(self, raw: dict[str, Any]) -> None:
        if self.ready:
            self.painter.add_stroke(raw)

    def _key(self, e: Any) -> None:
        if not e.action.keydown:
            return
        key = str(e.key.name)
        mods = e.modifiers
        if (mods.ctrl or mods.meta) and key.lower() == "z":
            self.redo() if mods.shift else self.undo()
        elif (mods.ctrl or mods.meta) and key.lower() == "y":
            self.redo()
        elif mods.ctrl or mods.meta or mods.alt:
            return
        elif key == "?":
            self._show_shortcuts()
        elif key.lower() == "c":
            self.toggle_compare()
        elif key.lower() == "d":
            self.open_download()
        elif key == "[":
            self.painter.shrink()
        elif key == "]":
            self.painter.grow()
        elif key.lower() == "e" and self.palette is not None and studio.painted_mask(self.palette.open_tool):
            self.painter.toggle_eraser()
        elif key.lower() == "u":
            self._pick_files()
        elif key == "/" and self.prompt is not None:
            self.prompt.focus()

    # ------------------------------------------------------------------ download

    def _download_dialog(self) -> None:
        with ui.dialog() as self.download, ui.card().classes(f"{theme.CARD} p-5 w-[380px] max-w-[94vw] gap-3"):
            ui.label("Download").classes(f"text-lg {theme.HEADING}")
            self.download_name = (
                ui.label("")
                .classes(f"text-xs {theme.MUTED} break-all")
                .mark("download-name")
                .props("data-testid=download-name")
            )
            self.download_format = (
                ui.toggle({"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}, value="png", on_change=self._format_changed)
                .props("no-caps unelevated toggle-color=primary spread")
                .classes("w-full rounded-lg border border-black/10 dark:border-white/10")
                .mark("download-format")
                .props("data-testid=download-format")
            )
            self.format_hint = ui.label("PNG keeps transparency; lossless.").classes(f"text-xs {theme.MUTED}")
            with ui.row().classes("w-full items-center no-wrap gap-2") as self.quality_row:
                ui.label("Quality").classes("text-sm")
                self.quality = (
                    ui.slider(min=40, max=100, step=1, value=90)
                    .props("label")
                    .classes("grow")
                    .mark("download-quality")
                    .props("data-testid=download-quality")
                )
            self.quality_row.set_visibility(False)
            ui.separator()
            self.share_switch = (
                ui.switch("Anyone with the link can view this version", on_change=self._share_changed)
                .props("dense")
                .mark("share-public")
                .props("data-testid=share-public")
            )
            with ui.row().classes("w-full items-center no-wrap gap-2") as self.share_row:
                self.share_link = ui.input().props("readonly dense outlined").classes("grow text-xs").mark("share-link")
                ui.button(icon="content_copy", on_click=self._copy_share_link).props("flat round dense").tooltip(
                    "Copy the link"
                )
            self.share_hint = ui.label(
                "Add ?tr=w-800 (or other sizes and effects) to the link to resize it on the fly."
            ).classes(f"text-xs {theme.MUTED}")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.download.close).props("flat no-caps")
                ui.button("Download", icon="download", on_click=self.do_download).props("unelevated no-caps").mark(
                    "download-go"
                ).props("data-testid=" + "download-go")

    def _format_changed(self, _e: Any = None) -> None:
        fmt = self.download_format.value
        self.quality_row.set_visibility(fmt != "png")
        self.format_hint.set_text(
            {
                "png": "PNG keeps transparency; lossless.",
                "jpeg": "JPEG is smallest for photos; transparency becomes white.",
                "webp": "WebP keeps transparency and is small.",
            }[fmt]
        )
        self._update_download_name()

    def _update_download_name(self) -> None:
        version = self.history.current
        if version is not None:
            self.download_name.set_text(
                studio.download_name(self.history.versions, version.id, self.download_format.value)
            )

    def open_download(self) -> None:
        if self.history.current is None:
            ui.notify("Open a photo first", type="warning")
            return
        self._update_download_name()
        self._show_share()
        self.download.open()

    def _show_share(self) -> None:
        version = self.history.current
        if version is None:
            return
        shared = self.shared.get(version.id, version.public)
        self.share_loading = True
        try:
            self.share_switch.set_value(shared)
        finally:
            self.share_loading = False
        self.share_link.set_value(studio.share_link(version.id, version.name))
        self.share_row.set_visibility(shared)
        self.share_hint.set_visibility(shared)

    async def _share_changed(self, e: Any) -> None:
        version = self.history.current
        if self.share_loading or version is None:
            return
        try:
            shared = await studio.set_shared(self.user.id, version.id, bool(e.value))
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.shared[version.id] = shared
        self._show_share()
        ui.notify("Anyone with the link can view it now" if shared else "The link no longer works for others")

    def _copy_share_link(self) -> None:
        ui.clipboard.write(self.share_link.value)
        ui.notify("Link copied")

    def do_download(self) -> None:
        version = self.history.current
        if version is None:
            return
        url = studio.download_url(
            self.history.versions, version.id, fmt=self.download_format.value, quality=int(self.quality.value)
        )
        ui.download.from_url(url)
        self.download.close()

    # ------------------------------------------------------------------ clean-up

    def _cleanup(self) -> None:
        if self.unsubscribe is not None:
            self.unsubscribe()
            self.unsubscribe = None


def _fields(card: studio.PhotoCard) -> dict[str, Any]:
    return {
        "id": card.id,
        "name": card.name,
        "created_at": card.created_at,
        "width": card.width,
        "height": card.height,
        "preview_url": card.preview_url,
        "versions": card.versions,
    }
