"""Encoding for storage: uploads normalised, results and masks encoded, stored files decoded.

An upload is checked by its content (engine.imageio rules; limits from settings), EXIF-rotated,
and re-encoded before it is stored: JPEG at quality 95 for photos, PNG for anything with
transparency or from a lossless source. Re-encoding (rather than stripping EXIF blocks) is the
choice because it guarantees no metadata at all survives - GPS, camera serials, embedded
thumbnails that still show the unrotated or uncropped photo - and the stored width and height are
what users see. A small WebP preview is made at once for the UI.

Every function here is blocking (decoding, encoding): call it in a worker thread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from pixora_ui.engine.ops import imageio
from pixora_ui.settings import get_settings

if TYPE_CHECKING:
    from pixora_ui.engine.ops.imageio import ImageArray

StoredFormat = Literal["png", "jpeg", "webp"]
PREVIEW_SIDE = 512
# Formats whose pixels are exact: re-encode them losslessly.
_LOSSLESS_SOURCES = frozenset({"png", "gif", "bmp", "tiff"})
_ORIGINAL_JPEG_QUALITY = 95


@dataclass(frozen=True, kw_only=True, slots=True)
class EncodedImage:
    """An image ready to store: the file, its small WebP preview, and what the asset row records."""

    data: bytes
    mime: str
    sha256: str
    width: int
    height: int
    preview: bytes
    preview_sha256: str


def encode_for_storage(pixels: ImageArray, fmt: StoredFormat, quality: int) -> EncodedImage:
    data = imageio.encode(pixels, fmt, quality)
    preview = imageio.make_preview(pixels, max_side=PREVIEW_SIDE)
    h, w = pixels.shape[:2]
    return EncodedImage(
        data=data,
        mime=imageio.FORMAT_MIME[fmt],
        sha256=hashlib.sha256(data).hexdigest(),
        width=int(w),
        height=int(h),
        preview=preview,
        preview_sha256=hashlib.sha256(preview).hexdigest(),
    )


def normalise_upload(data: bytes) -> EncodedImage:
    """Decode an upload within the upload limits (imageio.ImageInputError otherwise) and re-encode it."""
    settings = get_settings()
    decoded = imageio.decode(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)
    if decoded.has_alpha or decoded.format in _LOSSLESS_SOURCES:
        return encode_for_storage(decoded.pixels, "png", 100)
    return encode_for_storage(decoded.pixels, "jpeg", _ORIGINAL_JPEG_QUALITY)


def result_format(pixels: ImageArray, hint: str | None) -> StoredFormat:
    """PNG when the result has visible transparency (or the tool asks for it), else JPEG."""
    if hint == "png":
        return "png"
    if hint == "jpeg":
        return "jpeg"
    if hint == "webp":
        return "webp"
    if pixels.ndim == 3 and pixels.shape[2] == 4 and bool(np.any(pixels[:, :, 3] < 255)):
        return "png"
    return "jpeg"


def encode_result(pixels: ImageArray, format_hint: str | None) -> EncodedImage:
    """A tool's output, encoded off the event loop before its transaction opens (the runner does this)."""
    return encode_for_storage(pixels, result_format(pixels, format_hint), get_settings().jpeg_quality)


def encode_mask(data: bytes | ImageArray, *, width: int, height: int) -> EncodedImage:
    """An erase mask (PNG bytes or an H x W array; white = erase) as a lossless black-and-white PNG
    the size of its photo."""
    if isinstance(data, (bytes, bytearray)):
        settings = get_settings()
        array = imageio.decode(bytes(data), max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels).pixels
    else:
        array = np.asarray(data)
    if array.ndim == 3:
        if array.shape[2] == 4 and bool(np.any(array[:, :, 3] < 255)):
            grey = array[:, :, 3]  # strokes drawn on a transparent layer
        else:
            grey = array[:, :, :3].max(axis=2)
    else:
        grey = array
    grey = np.ascontiguousarray(grey.astype(np.uint8))
    if grey.shape[:2] != (height, width):
        grey = np.asarray(cv2.resize(grey, (width, height), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
    mask = np.where(grey >= 128, 255, 0).astype(np.uint8)
    return encode_for_storage(np.repeat(mask[:, :, None], 3, axis=2), "png", 100)


def decode_stored(data: bytes) -> ImageArray:
    """Decode a stored file."""
    settings = get_settings()
    # Stored files were validated on the way in; results (upscales) may exceed the upload limits.
    limit = max(settings.max_pixels, int(settings.upscale_max_mp * 1_000_000)) * 2
    return imageio.decode(data, max_bytes=1 << 31, max_pixels=limit).pixels
