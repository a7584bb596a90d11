"""The frame a crop or expand tool draws over the photo while its settings change.

Geometric tools describe their own box (services.previews.preview_box); smart crop asks the engine
where the subject is, debounced, and a late answer for an older state is dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import background_tasks

from components.compare_view import CompareView
from pixora_ui.services import previews, studio

DEBOUNCE_S = 0.4  # typing a size fires a change per key: only the last one runs the engine


class BoxPreview:
    def __init__(self, canvas: CompareView, *, user_id: int) -> None:
        self._canvas = canvas
        self._user_id = user_id
        self._token = 0  # bumped on every change: a smart-crop answer for an older state is dropped
        self.showing = True  # off once a result replaces the photo the frame was drawn on

    def update(self, version: studio.VersionCard | None, tool: str | None, values: dict[str, Any] | None) -> None:
        """Draw the open tool's frame for `values` on `version` (or clear it)."""
        self._token += 1
        box = None
        if version is not None and tool is not None and values is not None and self.showing:
            box = previews.preview_box(tool, values, width=version.width, height=version.height)
        self._canvas.set_overlay(box)
        if version is not None and values is not None and tool == previews.SMART_CROP_TOOL:
            background_tasks.create(self._smart_crop(self._token, version, values), name="smart-crop preview")

    async def _smart_crop(self, token: int, version: studio.VersionCard, params: dict[str, Any]) -> None:
        await asyncio.sleep(DEBOUNCE_S)
        if token != self._token:
            return
        box = await previews.smart_crop_preview(
            self._user_id, asset_id=version.id, params=params, width=version.width, height=version.height
        )
        if token == self._token and box is not None and not self._canvas.is_deleted:
            self._canvas.set_overlay(box)
