"""Previews for the studio: the box drawn over the photo while a tool's parameters change.

Crop and expand describe their box themselves (`Tool.preview_box`, from the parameters alone);
smart crop finds its box by running on the photo's small preview.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from db.session import session_scope
from pixora_ui.engine.ops import imageio
from pixora_ui.engine.tools import catalog as engine_tools
from pixora_ui.engine.tools.registry import Box, ToolError, never_cancelled, no_progress
from pixora_ui.providers.local import in_background
from pixora_ui.services import assets

SMART_CROP_TOOL = "smart-crop"


def preview_box(tool: str, params: Mapping[str, Any], *, width: int, height: int) -> Box | None:
    """The box (x, y, w, h in image pixels) the tool describes for these parameters: what a crop
    keeps, the new canvas an expand makes; None when the tool has no such preview or it shows nothing."""
    registry = engine_tools.get_registry()
    return registry.get(tool).preview_box(params, width=width, height=height) if tool in registry else None


def shows_preview_box(tool: str | None) -> bool:
    """Whether the studio redraws a box over the photo as this tool's parameters change."""
    registry = engine_tools.get_registry()
    if tool is None or tool not in registry:
        return False
    return tool == SMART_CROP_TOOL or registry.get(tool).preview_rule is not None


async def smart_crop_preview(
    user_id: int, *, asset_id: str, params: dict[str, Any], width: int, height: int
) -> Box | None:
    """Where smart crop would cut (x, y, w, h at full size), found on the small preview.

    Free and quick (the preview is at most 512 px); None when the tool is off or the parameters are not valid yet.
    Runs on the low-priority background executor, never on the engine executor, so previews cannot take
    inference slots from paid jobs.
    """
    registry = engine_tools.get_registry()
    if SMART_CROP_TOOL not in registry:
        return None
    tool = registry.get(SMART_CROP_TOOL)
    if not tool.availability()[0]:
        return None
    try:
        clean = tool.validate(params)
        async with session_scope() as session:
            view = await assets.get_asset(session, owner_id=user_id, asset_id=asset_id)
        data = await assets.read_bytes(view, variant="preview")
        pixels = (await asyncio.to_thread(imageio.decode, data, max_bytes=1 << 26, max_pixels=1 << 24)).pixels
        scale = width / pixels.shape[1]
        for key in ("width", "height"):
            if isinstance(clean.get(key), int | float) and clean[key] > 0:
                clean[key] = max(1, round(clean[key] / scale))
        result = await in_background(tool.run, pixels, clean, no_progress, never_cancelled)
    except (ToolError, imageio.ImageInputError, assets.AssetError):
        return None
    if result.box is None:
        return None
    x, y, w, h = result.box
    sx, sy = round(x * scale), round(y * scale)
    return (sx, sy, min(width - sx, round(w * scale)), min(height - sy, round(h * scale)))
