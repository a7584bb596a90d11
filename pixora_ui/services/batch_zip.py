"""A batch's results as one ZIP, streamed: the archive is never built in memory or on disk.

    download_entries(session, *, user_id, batch_id, fmt) -> list[ZipEntry]
        The succeeded results in the batch's order, named "<photo>-<tool>.<ext>" and numbered when
        names repeat; NothingToDownload while no photo has a result. fmt: original, png, jpeg, webp.
    stream_zip(entries, fmt, quality=None) -> AsyncIterator[bytes]     the archive, chunk by chunk
    parse_format(raw) -> ZipFormat | None     a query string's format ("jpg" is jpeg)
    download_url(batch_id, fmt="original") -> str     the studio's link (web.batch_download)
    archive_name(view) -> str     "pixora-remove-bg-2026-12-07.zip"

The standard library's `zipfile` writes to a sink that is not seekable (so it puts each entry's
sizes after its data) and hands every chunk it wrote to the response as it goes. One photo at a
time is read, converted (png, jpeg or webp, in a worker thread) and written, so memory stays at
about one photo whatever the number of photos; the client's pace drives the loop (the response
awaits each chunk before the next photo is read).
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import JOB_SUCCEEDED
from pixora_ui.engine.ops import imageio
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.services import asset_encoding, assets
from pixora_ui.services.assets import AssetView
from pixora_ui.services.batches import BatchView, NothingToDownload, get_batch
from pixora_ui.settings import get_settings

ZipFormat = Literal["original", "png", "jpeg", "webp"]
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_FORMAT_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


@dataclass(frozen=True, kw_only=True, slots=True)
class ZipEntry:
    name: str  # unique in the archive, e.g. "beach-remove-bg.png"
    asset: AssetView  # the result to put under that name


def _slug(text: str) -> str:
    stem = text.rsplit(".", 1)[0] if "." in text else text
    slug = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()
    return slug[:80] or "photo"


def _unique(name: str, ext: str, taken: set[str]) -> str:
    candidate = f"{name}.{ext}"
    number = 2
    while candidate.lower() in taken:
        candidate = f"{name}-{number}.{ext}"
        number += 1
    taken.add(candidate.lower())
    return candidate


async def download_entries(session: AsyncSession, *, user_id: int, batch_id: str, fmt: ZipFormat) -> list[ZipEntry]:
    """The batch's results in photo order, named "<photo>-<tool>.<ext>" (numbered when names repeat)."""
    view = await get_batch(session, user_id=user_id, batch_id=batch_id)
    entries: list[ZipEntry] = []
    taken: set[str] = set()
    for item in view.items:
        if item.status != JOB_SUCCEEDED or not item.result_id:
            continue
        try:
            result = await assets.get_asset(session, owner_id=user_id, asset_id=item.result_id)
        except assets.AssetNotFound:
            continue  # deleted from the library since: not part of the download
        ext = _FORMAT_EXTENSIONS[fmt] if fmt != "original" else _EXTENSIONS.get(result.mime, "img")
        name = _unique(f"{_slug(item.photo_name)}-{_slug(view.tool)}", ext, taken)
        entries.append(ZipEntry(name=name, asset=result))
    if not entries:
        raise NothingToDownload()
    return entries


_ZIP_FORMATS: dict[str, ZipFormat] = {
    "original": "original",
    "png": "png",
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "webp": "webp",
}


def parse_format(raw: str | None) -> ZipFormat | None:
    """A download format from a query string (nothing is "original"); None when unknown."""
    return _ZIP_FORMATS.get((raw or "original").strip().lower())


def download_url(batch_id: str, fmt: ZipFormat = "original") -> str:
    """The studio's address of a batch's ZIP (for the signed-in owner; web.batch_download serves it)."""
    return f"/batches/{batch_id}/download" + ("" if fmt == "original" else f"?format={fmt}")


def archive_name(view: BatchView) -> str:
    """The ZIP's file name, e.g. "pixora-remove-bg-2026-12-07.zip"."""
    return f"pixora-{_slug(view.tool)}-{view.created_at:%Y-%m-%d}.zip"


_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
# Conversions decode a whole photo: a few at a time in this process, whatever the number of downloads.
_CONVERSIONS = asyncio.Semaphore(2)


class _Sink(io.RawIOBase):
    """A write-only, unseekable file whose written bytes are taken out chunk by chunk."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def _converted(data: bytes, mime: str, fmt: ZipFormat, quality: int) -> bytes:
    """The file in the chosen format (blocking: runs in a worker thread)."""
    if fmt == "original" or _MIME[fmt] == mime:
        return data

    target: Literal["png", "jpeg", "webp"] = fmt
    return imageio.encode(asset_encoding.decode_stored(data), target, quality)  # JPEG: transparency on white


def _add(archive: zipfile.ZipFile, entry: ZipEntry, data: bytes, fmt: ZipFormat, quality: int) -> None:
    name = entry.name
    try:
        content = _converted(data, entry.asset.mime, fmt, quality)
    except ImageInputError:
        # A format that cannot hold this picture (a WebP side over 16,383 px): the stored file instead.
        content = data
        name = f"{name.rsplit('.', 1)[0]}.{entry.asset.extension}"
    info = zipfile.ZipInfo(name, date_time=entry.asset.created_at.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # PNG, JPEG and WebP are compressed already
    info.external_attr = 0o644 << 16
    archive.writestr(info, content)


async def stream_zip(entries: Sequence[ZipEntry], fmt: ZipFormat, quality: int | None = None) -> AsyncIterator[bytes]:
    """The ZIP's bytes, chunk by chunk. A result that vanished from storage meanwhile is left out."""
    level = quality or get_settings().jpeg_quality
    sink = _Sink()
    archive = zipfile.ZipFile(sink, mode="w", allowZip64=True)
    for entry in entries:
        try:
            data = await assets.read_bytes(entry.asset)
        except assets.AssetNotFound:
            continue
        async with _CONVERSIONS:
            await asyncio.to_thread(_add, archive, entry, data, fmt, level)
        del data
        yield sink.take()
    archive.close()  # the central directory
    yield sink.take()
