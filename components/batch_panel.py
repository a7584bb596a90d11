"""Batch editing in the studio: the selection's tool notice, the start (quote, choice) and the batch panel.

The panel floats over the canvas: one tile per photo (its thumbnail, then the result's), overall
progress with one ETA, cancel all, retry the failed ones that running again can fix (a timeout, a
busy service: the button says how many; a photo that would fail the same way is not offered) and
the ZIP download. Job events only fold into a plain `BatchView`; a timer draws at most
`UPDATES_PER_S` times a second and touches only the tiles whose state changed, so a 50-photo batch
costs a few small messages a second and the library is never re-listed per event. Images are URLs,
never inline data.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from nicegui import background_tasks, ui

from components import theme
from components.batch_confirm import UPGRADE, BatchConfirm
from components.batch_tiles import BATCH_CSS, BatchTile, photos_text, summary
from components.history_strip import History
from components.library_panel import LibraryPanel
from components.studio_sheets import Sheets
from components.testids import tagged
from components.usage_gate import UsageGate
from pixora_ui.auth.current import CurrentUser
from pixora_ui.services import batch_studio, studio
from pixora_ui.services.batch_views import BatchView
from pixora_ui.services.batch_zip import ZipFormat
from pixora_ui.services.batches import BatchError, CreditsShort
from pixora_ui.services.job_views import JobView

UPDATES_PER_S = 4
ZIP_FORMATS: dict[ZipFormat, str] = {"original": "As stored", "png": "PNG", "jpeg": "JPEG", "webp": "WebP"}
OnApply = Callable[[str, dict[str, Any], str | None], Awaitable[None]]


class StudioHost(Protocol):
    """What the studio page lends the batch panel."""

    user: CurrentUser
    library: LibraryPanel
    sheets: Sheets
    root_id: str | None
    history: History

    usage: UsageGate

    async def open_photo(self, root_id: str, version_id: str | None = None, *, quiet: bool = False) -> bool: ...


class BatchPanel:
    """Wired by the studio page with `attach(page)`; `route(apply)` sends a tool to the selection when
    photos are selected and to the open photo otherwise."""

    @classmethod
    def attach(cls, page: StudioHost, still_signed_in: Callable[[], Awaitable[bool]]) -> BatchPanel:
        """Built in the canvas's context (the panel floats over the photo), once the page has connected."""

        async def finished(view: BatchView) -> None:
            await page.library.reload()  # once per batch, for the photos' edit counts
            if page.root_id is not None and page.root_id in {item.photo_id for item in view.items}:
                await page.open_photo(page.root_id, page.history.current_id)  # its new version joins the strip

        return cls(
            user_id=page.user.id,
            library=page.library,
            tools_sheet=page.sheets.panels["right"],
            still_signed_in=still_signed_in,
            on_usage=page.usage.refresh,
            on_limit=page.usage.open_upgrade,
            on_finished=finished,
        )

    def __init__(
        self,
        *,
        user_id: int,
        library: LibraryPanel,
        tools_sheet: ui.element,
        still_signed_in: Callable[[], Awaitable[bool]],
        on_usage: Callable[[], Awaitable[None]],
        on_limit: Callable[[], None],
        on_finished: Callable[[BatchView], Awaitable[None]],
    ) -> None:
        self.view: BatchView | None = None
        self._user_id = user_id
        self._library = library
        self._still_signed_in = still_signed_in
        self._on_usage = on_usage
        self._on_limit = on_limit
        self._on_finished = on_finished
        self._starting = False
        self._dirty = False
        self._early: list[JobView] | None = None  # events that arrive while the batch is being read
        self._unsubscribe: Callable[[], None] | None = None
        self._tiles: dict[str, BatchTile] = {}
        self._format: ZipFormat = "original"
        ui.add_css(BATCH_CSS)
        self._notice(tools_sheet)
        self.confirm = BatchConfirm()
        self._build()
        self._timer = ui.timer(1 / UPDATES_PER_S, self._flush, active=False)
        ui.context.client.on_delete(self._stop_watching)
        library.on_selection(self._selection_changed)
        background_tasks.create(self._resume(), name="batch panel resume")

    # ------------------------------------------------------------------ building

    def _notice(self, tools_sheet: ui.element) -> None:
        """Above the tools: what they apply to while photos are selected, and which ones cannot."""
        masked = [c.label for c in studio.tool_cards() if c.available and studio.painted_mask(c.name)]
        with tools_sheet:
            with tagged(
                ui.column().classes("w-full gap-1 rounded-xl px-3 py-2 bg-primary/10"), "batch-notice"
            ) as self.notice:
                with ui.row().classes("items-center no-wrap gap-2"):
                    ui.icon("library_add_check", size="18px").classes("text-primary")
                    self.notice_title = ui.label().classes("text-sm font-semibold text-primary")
                ui.label(
                    "Each tool, and a sentence in the prompt box, runs once per photo with the same settings."
                ).classes(f"text-xs {theme.MUTED}")
                if masked:
                    names = ", ".join(masked)
                    text = f"{names} needs a mask painted on one photo, so it works on the open photo only."
                    tagged(ui.label(text).classes(f"text-xs {theme.MUTED}"), "batch-not-offered")
        self.notice.move(target_index=1)  # below the sheet's header, above the tools
        self.notice.set_visibility(False)

    def _build(self) -> None:
        with tagged(
            ui.card()
            .classes(
                f"{theme.CARD} absolute bottom-3 left-1/2 -translate-x-1/2 z-10 "
                "w-[min(560px,calc(100%-24px))] p-3 gap-2"
            )
            .props("flat"),
            "batch-panel",
        ) as self.card:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                self.icon = ui.icon("burst_mode", size="20px").classes("text-primary")
                with ui.column().classes("gap-0 grow min-w-0"):
                    self.title = ui.label().classes("text-sm font-semibold truncate w-full")
                    self.detail = tagged(ui.label().classes(f"text-xs {theme.MUTED}"), "batch-summary")
                self.cancel = tagged(
                    ui.button("Cancel all", on_click=self.cancel_all).props("flat dense no-caps color=negative"),
                    "batch-cancel",
                )
                self.close = ui.button(icon="close", on_click=self.hide).props("flat round dense size=sm")
                tagged(self.close, "batch-close")
            self.bar = tagged(
                ui.linear_progress(value=0, show_value=False, size="6px").props("rounded"), "batch-progress"
            )
            self.grid = ui.element("div").classes("pixora-batch-grid w-full")
            self.failures = tagged(ui.column().classes("w-full gap-0.5"), "batch-failures")
            with ui.row().classes("w-full items-center no-wrap gap-2") as self.actions:
                self.retry = tagged(
                    ui.button("Retry failed", icon="refresh", on_click=self.retry_failed).props("flat dense no-caps"),
                    "batch-retry",
                )
                ui.element("div").classes("grow")
                self.format = tagged(
                    ui.select(ZIP_FORMATS, value=self._format, on_change=lambda e: self._set_format(e.value))
                    .props("dense outlined options-dense")
                    .classes("w-[150px]"),
                    "batch-format",
                )
                # A plain link: the browser streams the ZIP itself, nothing passes through the websocket.
                with tagged(
                    ui.element("a")
                    .classes(
                        "inline-flex items-center gap-1 px-3 py-1.5 rounded-lg bg-primary text-white text-sm "
                        "font-semibold no-underline whitespace-nowrap"
                    )
                    .props("download"),
                    "batch-download",
                ) as self.download:
                    ui.icon("folder_zip", size="18px")
                    ui.label("Download ZIP")
        self.card.set_visibility(False)

    # ------------------------------------------------------------------ selection and start

    def _selection_changed(self, selected: list[str]) -> None:
        count = len(selected)
        self.notice.set_visibility(self._library.selecting)
        self.notice_title.set_text(
            f"Tools apply to {photos_text(count)}" if count else "Select photos in the library to edit them together"
        )

    def route(self, single: OnApply) -> OnApply:
        """The palette's apply: the selection's batch, or `single` (the open photo) when none is selected."""

        async def apply(tool: str, params: dict[str, Any], provider: str | None) -> None:
            if not await self.apply(tool, params, provider):
                await single(tool, params, provider)

        return apply

    async def apply(self, tool: str, params: dict[str, Any], provider: str | None) -> bool:
        """Run `tool` on the selected photos; False when nothing is selected (the open photo's edit)."""
        photos = self._library.selection()
        if not photos:
            return False
        label = studio.tool_label(tool)
        if studio.painted_mask(tool) is not None:
            ui.notify(f"{label} needs a mask painted on one photo. Clear the selection to use it.", type="info")
            return True
        if self._starting or not await self._still_signed_in():
            return True
        self._starting = True
        try:
            await self._start(photos, tool, label, params, provider)
        finally:
            self._starting = False
        return True

    async def _start(
        self, photos: list[str], tool: str, label: str, params: dict[str, Any], provider: str | None
    ) -> None:
        key = uuid.uuid4().hex  # one batch however often the same answer is sent
        try:
            quote = await batch_studio.quote_batch(self._user_id, tool=tool, params=params, photos=len(photos))
        except BatchError as exc:
            ui.notify(str(exc), type="negative")
            return
        while True:
            count = await self.confirm.ask(tool_label=label, quote=quote)
            if count == UPGRADE:
                self._on_limit()
                return
            if not count:
                return
            try:
                view = await batch_studio.start_batch(
                    self._user_id,
                    photo_ids=photos,
                    tool=tool,
                    params=params,
                    limit_to=count if count < len(photos) else None,
                    idempotency_key=key,
                    provider=provider,
                )
            except CreditsShort as exc:  # the credits changed meanwhile: ask again with the new numbers
                quote = exc.quote
                key = uuid.uuid4().hex
                continue
            except BatchError as exc:
                ui.notify(str(exc), type="negative")
                return
            break
        self._library.set_selecting(False)
        await self.follow(view)
        await self._on_usage()

    # ------------------------------------------------------------------ following a batch

    async def _resume(self) -> None:
        """A batch still under way when the page was reloaded (or opened in another tab) shows again."""
        latest = await batch_studio.recent_batches(self._user_id, limit=1)
        if latest and not latest[0].done and self.view is None and not self.card.is_deleted:
            await self.follow(latest[0])

    async def follow(self, view: BatchView) -> None:
        """Show `view` and keep it current from job events."""
        self._stop_watching()
        self._early = []
        self._unsubscribe = batch_studio.watch_batch(self._user_id, view.id, self._event)
        # Read it again after subscribing: a job may have moved between the start and the subscription.
        fresh = await batch_studio.batch_of(self._user_id, view.id)
        for job in self._early:
            fresh = fresh.with_job(job)
        self._early = None
        self.view = fresh
        self._tiles.clear()
        self.grid.clear()
        with self.grid:
            for index, item in enumerate(fresh.items):
                self._tiles[item.photo_id] = BatchTile(item, index)
        self.title.set_text(f"{fresh.tool_label} · {photos_text(fresh.total)}")
        self.download.props(f'href="{batch_studio.zip_url(fresh.id, self._format)}"')
        self.card.set_visibility(True)
        self._draw()
        self._timer.activate()

    def _event(self, job: JobView) -> None:
        # Called by the job runner outside the page: fold only, the timer draws.
        if self._early is not None:
            self._early.append(job)
        elif self.view is not None:
            self.view = self.view.with_job(job)
            self._dirty = True

    async def _flush(self) -> None:
        if self.view is None:
            return
        if self._dirty:
            self._draw()
        if self.view.done:  # the timer runs only while a batch is under way: this happens once per batch
            self._timer.deactivate()
            await self._on_usage()  # failed and cancelled photos gave their edits back
            await self._on_finished(self.view)

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        self._dirty = False
        for item in view.items:
            tile = self._tiles.get(item.photo_id)
            if tile is not None:
                tile.update(item)
        self.detail.set_text(summary(view))
        self.bar.set_value(round(view.progress, 3))
        self.bar.set_visibility(not view.done)
        finished = view.done
        self.icon.props(f"name={'burst_mode' if not finished else 'task_alt' if not view.failed else 'error'}")
        self.icon.classes(replace="text-primary" if not finished or not view.failed else "text-negative")
        self.cancel.set_visibility(not finished)
        self.close.set_visibility(finished)
        self.retry.set_visibility(finished and view.retryable > 0)
        self.retry.set_text(f"Retry {view.retryable} failed")
        self.actions.set_visibility(finished and (view.succeeded > 0 or view.failed > 0))
        self.format.set_visibility(view.succeeded > 0)
        self.download.set_visibility(view.succeeded > 0)
        self._draw_failures(view)

    def _draw_failures(self, view: BatchView) -> None:
        failed = [item for item in view.items if item.status == "failed"]
        if len(failed) == len(self.failures.default_slot.children):
            return
        self.failures.clear()
        with self.failures:
            for item in failed:
                ui.label(f"{item.photo_name}: {item.job.error or 'Something went wrong.'}").classes(
                    "text-xs text-negative"
                )

    def _set_format(self, fmt: Any) -> None:
        self._format = next((f for f in ZIP_FORMATS if f == fmt), "original")
        if self.view is not None:
            self.download.props(f'href="{batch_studio.zip_url(self.view.id, self._format)}"')

    # ------------------------------------------------------------------ actions

    async def cancel_all(self) -> None:
        if self.view is None or not await self._still_signed_in():
            return
        self.cancel.disable()
        try:
            cancelled = await batch_studio.cancel_batch(self._user_id, self.view.id)
        finally:
            self.cancel.enable()
        self.view = cancelled
        self._draw()

    async def retry_failed(self) -> None:
        if self.view is None or not await self._still_signed_in():
            return
        quote = await batch_studio.quote_retry(self._user_id, self.view.id)
        if not quote.covered:  # a retry runs every failed photo or none
            answer = await self.confirm.ask(tool_label=f"Retry {self.view.tool_label}", quote=quote, partial=False)
            if answer == UPGRADE:
                self._on_limit()
            return
        try:
            view = await batch_studio.retry_batch(self._user_id, self.view.id)
        except BatchError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.view = view
        self._draw()
        self._timer.activate()
        await self._on_usage()

    def hide(self) -> None:
        self.card.set_visibility(False)

    def _stop_watching(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
