"""Media delivery: `/media/{asset_id}` (the stored file) and `/media/{asset_id}/preview` (small WebP).

Served only to the asset's owner (session cookie) or to anyone holding a valid signed URL
(`?exp=…&sig=…`, services.media.signed_url). Anything else - a stranger, a deleted asset, a bad or
expired signature - gets the same 404 as an id that never existed, so nothing hints that it does.

Files are content-addressed, so responses carry a strong ETag (from the SHA-256); browsers keep them a
minute and then revalidate (`If-None-Match` answers 304), so nothing private outlives a sign-out.
Range requests work (206/416). `?download=name.ext` adds a Content-Disposition attachment;
`?format=png|jpeg|webp&quality=1..100` converts a download (format and quality are part of a signed
URL's signature; each conversion is computed once and cached).
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Literal

from fastapi import FastAPI, Request
from starlette.responses import FileResponse, JSONResponse, Response

from db.session import session_scope
from pixora_ui.auth.current import current_user
from pixora_ui.auth.sessions import SESSION_COOKIE
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.services import media, transforms, usage
from pixora_ui.services.assets import AssetNotFound, AssetView, find_asset, read_bytes
from pixora_ui.settings import get_settings
from pixora_ui.storage.factory import get_storage
from pixora_ui.transform.workers import RenderFailed

# Short and revalidated (a 304 thanks to the ETag): after sign-out a private image must not stay
# usable from the browser's cache for a year.
CACHE_CONTROL = "private, max-age=60, must-revalidate"
LARGE_BODY = 4 * 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_FORMATS: dict[str, tuple[Literal["png", "jpeg", "webp"], str, str]] = {
    "png": ("png", "image/png", "png"),
    "jpeg": ("jpeg", "image/jpeg", "jpg"),
    "jpg": ("jpeg", "image/jpeg", "jpg"),
    "webp": ("webp", "image/webp", "webp"),
}
_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()-]+")


def _not_found() -> Response:
    return JSONResponse({"error": "not_found"}, status_code=404, headers={"Cache-Control": "no-store"})


async def lookup_asset(asset_id: str) -> AssetView | None:
    """A live asset by id, from a lookup kept for a few seconds (media and /ik share it)."""
    cached = media.cached_meta(asset_id)
    if isinstance(cached, AssetView):
        return cached

    async with session_scope() as session:
        view = await find_asset(session, asset_id=asset_id)
    if view is not None:
        media.remember_meta(asset_id, view)
    return view


async def _authorised(request: Request, view: AssetView, variant: str) -> bool:
    query = request.query_params
    if "sig" in query or "exp" in query:
        bound = query.get("b") == "1"
        # A converted download's format and quality are part of what is signed.
        valid = media.verify(
            view.id,
            variant,
            query.get("exp"),
            query.get("sig"),
            fmt=query.get("format"),
            quality=query.get("quality"),
            bound=bound,
        )
        if not valid:
            return False
        if not bound:
            return True
        # A studio URL: only for the owner's live session (so not after sign-out, nor where it leaks).
    return await _owner_session(request, view)


async def _owner_session(request: Request, view: AssetView) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    # The session lookup /api/usage keeps for a moment (dropped at once on sign-out or account change).
    cached = usage.cached_session_usage(token)
    if cached is not None:
        return cached[0] == view.owner_id
    user = await current_user(request)
    if user is None:
        return False
    usage.remember_session_usage(token, user.id, user.usage)
    return user.id == view.owner_id


def _download_name(raw: str, ext: str) -> str:
    stem = raw.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = _SAFE_NAME.sub("_", stem).strip(" ._")[:120] or "pixora"
    return f"{stem}.{ext}"


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    return header.strip() == "*" or etag in [part.strip().removeprefix("W/") for part in header.split(",")]


def _bytes_response(request: Request, data: bytes, *, media_type: str, headers: dict[str, str]) -> Response:
    """A bytes response with single-range support (multi-range requests get the whole file)."""
    total = len(data)
    headers = {**headers, "Accept-Ranges": "bytes"}
    spec = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if spec and (if_range is None or if_range == headers.get("ETag")):
        match = _RANGE.match(spec.strip())
        if match:
            first, last = match.groups()
            if first:
                start = int(first)
                end = min(int(last), total - 1) if last else total - 1
            elif last:
                start = max(0, total - int(last))
                end = total - 1
            else:
                start, end = 0, -1
            if start > end or start >= total:
                return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{total}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
            return Response(data[start : end + 1], status_code=206, media_type=media_type, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


async def _serve(request: Request, asset_id: str, variant: Literal["full", "preview"]) -> Response:
    if len(asset_id) > 32:
        return _not_found()
    view = await lookup_asset(asset_id)
    if view is None or not await _authorised(request, view, variant):
        return _not_found()
    query = request.query_params
    key = view.storage_key
    media_type = view.mime
    etag_base = view.sha256
    if variant == "preview" and view.preview_key:
        key = view.preview_key
        media_type = "image/webp"
        etag_base = "p" + key.rsplit("/", 1)[-1].split(".", 1)[0]
    convert: tuple[Literal["png", "jpeg", "webp"], str, str] | None = None
    quality = get_settings().jpeg_quality
    requested = (query.get("format") or "").lower()
    if requested and variant == "full":
        convert = _FORMATS.get(requested)
        if convert is None:
            return JSONResponse({"error": "bad_format", "message": "format must be png, jpeg or webp"}, 400)
        try:
            quality = max(1, min(100, int(query.get("quality") or quality)))
        except ValueError:
            return JSONResponse({"error": "bad_quality", "message": "quality must be 1 to 100"}, 400)
        if convert[1] == view.mime and not query.get("quality"):
            convert = None
        else:
            media_type = convert[1]
            etag_base = f"{view.sha256}-{convert[0]}{quality}"
    etag = f'"{etag_base}"'
    headers: dict[str, str] = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    download = query.get("download")
    if download:
        ext = convert[2] if convert else _EXT.get(media_type, "img")
        name = _download_name(download, ext)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=headers)

    if convert is None:
        data = media.cached_bytes(key) if variant == "preview" else None
        if data is None:
            storage = get_storage(view.storage_backend)
            path = storage.local_path(key) if variant == "full" else None
            if path is not None:
                try:
                    stat = await asyncio.to_thread(os.stat, path)
                except FileNotFoundError:
                    return _not_found()
                return FileResponse(path, headers=headers, media_type=media_type, stat_result=stat)
            try:
                data = await read_bytes(view, variant=variant)
            except AssetNotFound:
                return _not_found()
            if variant == "preview":
                media.remember_bytes(key, data)
        return _bytes_response(request, data, media_type=media_type, headers=headers)

    try:
        entry, converted = await transforms.convert(view, convert[0], quality)
    except AssetNotFound:
        return _not_found()
    except (ImageInputError, RenderFailed) as exc:  # e.g. a strip too long for WebP (said plainly)
        message = str(exc).removeprefix("The image could not be made: ")
        return JSONResponse({"error": "bad_format", "message": message}, 400, headers={"Cache-Control": "no-store"})
    if len(converted) > LARGE_BODY:
        # Streamed from the cache file in chunks: a big body does not hold up other requests.
        try:
            stat = await asyncio.to_thread(os.stat, entry.path)
            return FileResponse(entry.path, headers=headers, media_type=media_type, stat_result=stat)
        except FileNotFoundError:
            pass  # evicted meanwhile: send the bytes we hold
    return _bytes_response(request, converted, media_type=media_type, headers=headers)


async def media_full(request: Request, asset_id: str) -> Response:
    return await _serve(request, asset_id, "full")


async def media_preview(request: Request, asset_id: str) -> Response:
    return await _serve(request, asset_id, "preview")


def register(app: FastAPI) -> None:
    app.add_api_route("/media/{asset_id}", media_full, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/media/{asset_id}/preview", media_preview, methods=["GET", "HEAD"], include_in_schema=False)
