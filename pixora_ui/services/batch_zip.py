"""A batch's results as one ZIP, streamed: the archive is never built in memory or on disk.

The standard library's `zipfile` writes to a sink that is not seekable (so it puts each entry's
sizes after its data) and hands every chunk it wrote to the response as it goes. One photo at a
time is read, converted (png, jpeg or webp, in a worker thread) and written, so memory stays at
about one photo whatever the number of photos; the client's pace drives the loop (the response
awaits each chunk before the next photo is read).
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from pixora_ui.services import assets
from pixora_ui.services.batches import ZipEntry, ZipFormat
from pixora_ui.settings import get_settings

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
    from pixora_ui.engine import imageio

    target: Literal["png", "jpeg", "webp"] = fmt
    return imageio.encode(assets.decode_stored(data), target, quality)  # JPEG: transparency on white


def _add(archive: zipfile.ZipFile, entry: ZipEntry, data: bytes, fmt: ZipFormat, quality: int) -> None:
    from pixora_ui.engine.imageio import ImageInputError

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
