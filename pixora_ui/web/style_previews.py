"""`/media/{asset_id}/preview/style/{preset}`: a style filter on a photo's small preview, as a WebP.

The studio's style panel shows each filter on the photo before it is applied. The URL carries the same
signature as the photo's preview (a style of a preview shows nothing the preview does not), or the
owner's session. Rendering runs on the low-priority background executor (about 20 ms per filter on a
preview); results are kept in the media byte cache under the preview's content-addressed key.
"""

from __future__ import annotations

import io

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response
from PIL import Image

from pixora_ui.engine.ops.style import PRESETS, apply_style
from pixora_ui.providers.local import in_background
from pixora_ui.services import media
from pixora_ui.services.assets import AssetNotFound, read_bytes
from pixora_ui.web.media import CACHE_CONTROL, _authorised, _bytes_response, _not_found, lookup_asset

THUMB_SIDE = 240  # px: the panel shows previews at about 96 px, so this is sharp on a 2x screen


def render(data: bytes, preset: str) -> bytes:
    """The preset on an encoded preview, shrunk to THUMB_SIDE, as WebP."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))
        image = opened.convert("RGB")
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    styled = apply_style(np.ascontiguousarray(np.asarray(image)), preset)
    out = io.BytesIO()
    Image.fromarray(styled).save(out, format="WEBP", quality=82, method=4)
    return out.getvalue()


async def style_preview(request: Request, asset_id: str, preset: str) -> Response:
    if len(asset_id) > 32 or preset not in PRESETS:
        return _not_found()
    view = await lookup_asset(asset_id)
    if view is None or not await _authorised(request, view, "preview"):
        return _not_found()
    source_key = view.preview_key or view.storage_key
    key = f"{source_key}#style-{preset}"
    headers = {
        "ETag": f'"{view.sha256[:16]}-{preset}"',
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    data = media.cached_bytes(key)
    if data is None:
        try:
            source = await read_bytes(view, variant="preview" if view.preview_key else "full")
        except AssetNotFound:
            return _not_found()
        data = await in_background(render, source, preset)
        media.remember_bytes(key, data)
    return _bytes_response(request, data, media_type="image/webp", headers=headers)


def register(app: FastAPI) -> None:
    app.add_api_route(
        "/media/{asset_id}/preview/style/{preset}", style_preview, methods=["GET", "HEAD"], include_in_schema=False
    )
