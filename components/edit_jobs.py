"""The jobs a studio page starts: submit an edit or a text-to-image request, cancel, follow each to its end.

It drives the job panel and says what went wrong; the page decides what a finished job changes
(open the new version, add the new photo) through `on_finished`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.job_panel import JobPanel
from components.submit_guard import Request, SubmitGuard
from pixora_ui.services import create, studio
from pixora_ui.services.job_views import JobView


class EditJobs:
    def __init__(
        self,
        *,
        user_id: int,
        panel: JobPanel,
        on_usage: Callable[[], Awaitable[None]],
        on_limit: Callable[[], None],
        on_started: Callable[[], None],
        on_finished: Callable[[JobView, bool], Awaitable[None]],
    ) -> None:
        self.guard = SubmitGuard()
        self.panel = panel
        self._user_id = user_id
        self._on_usage = on_usage
        self._on_limit = on_limit
        self._on_started = on_started
        self._on_finished = on_finished  # (final state, whether it was a text-to-image job)
        self._mine: dict[str, str] = {}  # job id -> the version it was applied to
        self._created: set[str] = set()  # text-to-image jobs: each result is a new photo
        self._active: str | None = None

    async def one_at_a_time(self, version_id: str, tool: str, submit: Callable[[], Awaitable[None]]) -> None:
        """Run `submit` unless this tool is already being submitted for this version (a double press)."""
        flight = self.guard.claim(version_id, tool)
        if flight is None:
            return
        try:
            await submit()
        finally:
            self.guard.release(flight)

    async def submit(self, asset_id: str, request: Request, *, label: str) -> None:
        self.guard.last_request = request
        key = self.guard.key_for(asset_id, request.tool, request.params, request.provider)
        try:
            state = await studio.submit_edit(
                self._user_id,
                asset_id=asset_id,
                tool=request.tool,
                params=request.params,
                provider=request.provider,
                idempotency_key=key,
            )
        except studio.EmailNotVerifiedError as exc:
            self.panel.hide()
            ui.notify(str(exc), type="warning", multi_line=True)
            return
        except studio.StudioError as exc:
            await self._refused(exc, label)
            return
        self.guard.submitted(key, state.id)
        self._mine[state.id] = asset_id
        await self._started(state)
        if state.done:
            await self.changed(state)

    async def create(self, prompt: str, aspect: str, count: int) -> None:
        """Queue text-to-image jobs; each finished picture becomes a new photo."""
        self.panel.pending("Create")
        try:
            states = await create.submit_generation(self._user_id, prompt=prompt, aspect=aspect, count=count)
        except studio.StudioError as exc:
            await self._refused(exc, "Create")
            return
        for state in states:
            self._mine[state.id] = ""
            self._created.add(state.id)
        await self._started(states[0])

    async def cancel(self) -> None:
        if self._active is None:
            return
        try:
            state = await studio.cancel_edit(self._user_id, self._active)
        except studio.StudioError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.panel.show(state)

    def is_mine(self, job_id: str) -> bool:
        return job_id in self._mine

    async def changed(self, state: JobView) -> None:
        """A job of this page moved on (called in the page's context)."""
        created = state.id in self._created
        if created and state.status == "succeeded":
            state = dataclasses.replace(state, note="Added to your library as a new photo")
        if state.id == self._active:
            self.panel.show(state)
        if not state.done:
            return
        self._mine.pop(state.id, None)
        self._created.discard(state.id)
        self.guard.ended(state.id, state.status)
        await self._on_usage()
        await self._on_finished(state, created)

    async def _started(self, state: JobView) -> None:
        self._active = state.id
        self.panel.show(state)
        self._on_started()
        await self._on_usage()

    async def _refused(self, exc: Any, label: str) -> None:
        if isinstance(exc, studio.LimitReachedError):
            self.panel.hide()
            await self._on_usage()
            self._on_limit()
        else:
            # "Try again" only for a passing refusal (a tool error raised as transient); most
            # refusals (not a photo, no provider for these settings) would come back the same.
            self.panel.show(JobView.refused(label, str(exc), retryable=getattr(exc, "retryable", False) is True))
