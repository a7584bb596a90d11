"""/api/v1/photos: upload (multipart `file` or a raw image body), list, get, delete, versions, file."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response

from db.session import session_scope
from pixora_ui.api import schemas
from pixora_ui.api.auth import api_owner
from pixora_ui.api.errors import ApiError, not_found
from pixora_ui.api.keys import KeyOwner
from pixora_ui.engine.ops import imageio
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.services import asset_encoding, assets
from pixora_ui.services.assets import AssetNotFound, AssetView, QuotaExceeded
from pixora_ui.settings import get_settings
from pixora_ui.storage.factory import get_storage

router = APIRouter(tags=["photos"])
Owner = Annotated[KeyOwner, Depends(api_owner)]

_FORMATS: dict[str, tuple[Literal["png", "jpeg", "webp"], str]] = {
    "png": ("png", "image/png"),
    "jpeg": ("jpeg", "image/jpeg"),
    "jpg": ("jpeg", "image/jpeg"),
    "webp": ("webp", "image/webp"),
}
_RAW_TYPES = ("image/", "application/octet-stream")
# Conversions decode a whole photo in memory: a few at a time, whatever the number of requests.
_CONVERSIONS = asyncio.Semaphore(2)

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def image_input_error(exc: Exception) -> ApiError:
    """The studio's message for a refused file, with the status that fits it."""
    code = getattr(exc, "code", "")
    if code in {"too_many_bytes", "too_many_pixels"}:
        return ApiError(413, "too_large", str(exc))
    if code == "not_image":
        return ApiError(415, "unsupported_image", str(exc))
    return ApiError(400, "invalid_image", str(exc))


async def read_upload(request: Request) -> tuple[bytes, str]:
    """The file of an upload request and its name: a multipart `file` field or the raw body."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=20)
        try:
            field = form.get("file")
            if not isinstance(field, UploadFile):
                raise ApiError(400, "missing_file", "Send the photo in a form field named file.")
            return await field.read(), field.filename or "photo"
        finally:
            await form.close()
    if content_type.startswith(_RAW_TYPES):
        data = await request.body()
        name = request.query_params.get("name") or request.headers.get("x-filename") or "photo"
        return data, name
    raise ApiError(
        415,
        "unsupported_media_type",
        "Send the photo as multipart/form-data (field file) or as the raw body with its image Content-Type.",
    )


async def upload_for(owner_id: int, data: bytes, name: str) -> AssetView:
    try:
        async with session_scope() as session:
            return await assets.upload(session, owner_id=owner_id, data=data, filename=name)
    except ImageInputError as exc:
        raise image_input_error(exc) from None
    except QuotaExceeded as exc:
        raise ApiError(413, "storage_full", str(exc)) from None


@router.post(
    "/photos",
    status_code=201,
    response_model=schemas.Photo,
    summary="Upload a photo",
    openapi_extra=_UPLOAD_BODY,
    responses={413: {"model": schemas.ErrorBody}, 415: {"model": schemas.ErrorBody}},
)
async def upload_photo(request: Request, owner: Owner) -> Any:
    """Checked like a studio upload (content, size, pixel count), turned upright and stripped of metadata.

    Send multipart/form-data with the file in `file`, or the image itself as the body with its
    Content-Type (`?name=` names it).
    """
    data, name = await read_upload(request)
    view = await upload_for(owner.user_id, data, name)
    return Response(
        schemas.photo(view).model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"{schemas.PREFIX}/photos/{view.id}"},
    )


@router.get("/photos", response_model=schemas.PhotoPage, summary="List your uploads, newest first")
async def list_photos(
    owner: Owner,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> schemas.PhotoPage:
    async with session_scope() as session:
        items = await assets.list_library(session, owner_id=owner.user_id, limit=limit + 1, offset=offset)
    page = [
        schemas.PhotoSummary(
            **schemas.photo(item.original).model_dump(), versions=item.versions, latest=schemas.photo(item.latest)
        )
        for item in items[:limit]
    ]
    return schemas.PhotoPage(data=page, limit=limit, offset=offset, has_more=len(items) > limit)


async def owned(owner_id: int, photo_id: str) -> AssetView:
    try:
        async with session_scope() as session:
            view = await assets.get_asset(session, owner_id=owner_id, asset_id=photo_id)
    except AssetNotFound:
        raise not_found() from None
    if view.tool == assets.MASK_TOOL:
        raise not_found()
    return view


@router.get("/photos/{photo_id}", response_model=schemas.Photo, summary="One photo or version")
async def get_photo(photo_id: str, owner: Owner) -> schemas.Photo:
    return schemas.photo(await owned(owner.user_id, photo_id))


@router.delete("/photos/{photo_id}", status_code=204, summary="Delete a photo (an upload takes its versions)")
async def delete_photo(photo_id: str, owner: Owner) -> Response:
    await owned(owner.user_id, photo_id)
    try:
        async with session_scope() as session:
            await assets.delete_asset(session, owner_id=owner.user_id, asset_id=photo_id)
    except AssetNotFound:
        raise not_found() from None
    return Response(status_code=204)


@router.get(
    "/photos/{photo_id}/versions", response_model=schemas.VersionList, summary="The upload and every edit of it"
)
async def photo_versions(photo_id: str, owner: Owner) -> schemas.VersionList:
    view = await owned(owner.user_id, photo_id)
    async with session_scope() as session:
        versions = await assets.list_versions(session, owner_id=owner.user_id, root_id=view.root_id)
    return schemas.VersionList(data=[schemas.photo(v) for v in versions])


def _convert(data: bytes, fmt: Literal["png", "jpeg", "webp"], quality: int) -> bytes:
    return imageio.encode(asset_encoding.decode_stored(data), fmt, quality)  # JPEG: transparency on white


@router.get(
    "/photos/{photo_id}/file",
    summary="Download the photo's file",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}, "description": "The image file"}},
)
async def photo_file(
    photo_id: str,
    owner: Owner,
    format: Annotated[str | None, Query(description="png, jpeg or webp (default: as stored)")] = None,
    quality: Annotated[int | None, Query(ge=1, le=100, description="JPEG/WebP quality")] = None,
) -> Response:
    view = await owned(owner.user_id, photo_id)
    headers = {"Cache-Control": "private, no-cache", "ETag": f'"{view.sha256}"', "X-Content-Type-Options": "nosniff"}
    wanted = _FORMATS.get((format or "").lower()) if format else None
    if format and wanted is None:
        raise ApiError(400, "bad_format", "format must be png, jpeg or webp.")
    if wanted is None or (wanted[1] == view.mime and quality is None):
        path = get_storage(view.storage_backend).local_path(view.storage_key)
        if path is not None:
            try:
                stat = await asyncio.to_thread(os.stat, path)
            except FileNotFoundError:
                raise not_found() from None
            return FileResponse(path, media_type=view.mime, headers=headers, stat_result=stat)
        try:
            data = await assets.read_bytes(view)
        except AssetNotFound:
            raise not_found() from None
        return Response(data, media_type=view.mime, headers=headers)
    try:
        original = await assets.read_bytes(view)
    except AssetNotFound:
        raise not_found() from None
    level = quality or get_settings().jpeg_quality
    async with _CONVERSIONS:
        converted = await asyncio.to_thread(_convert, original, wanted[0], level)
    headers["ETag"] = f'"{view.sha256}-{wanted[0]}{level}"'
    return Response(converted, media_type=wanted[1], headers=headers)
