"""A hostile-upload corpus, generated (nothing binary is committed): broken, disguised, oversized,
odd and valid-but-unusual files, and hostile file names. Each entry says whether a careful server
may accept it (`acceptable`): refusals must come with a plain message, acceptances must work."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from PIL import Image, PngImagePlugin


@dataclass(frozen=True)
class Hostile:
    name: str  # the file name the client sends
    data: bytes
    mime: str
    acceptable: bool  # a valid image a server may store (False: it must be refused)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _photo(size: tuple[int, int] = (96, 64)) -> Image.Image:
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.dstack([x, y, 255 - x]))


def _png() -> bytes:
    return _save(_photo(), "PNG")


def _jpeg() -> bytes:
    return _save(_photo(), "JPEG", quality=90)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` with a tiny IDAT (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _png_real_bomb() -> bytes:
    # 10000 x 10000 one-bit pixels: 100 MP behind a few kilobytes.
    return _save(Image.new("1", (10_000, 10_000), 0), "PNG", optimize=True)


def _gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.new("P", (8, 8), 0), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)  # logical screen
    at = data.index(b",")  # image descriptor
    data[at + 5 : at + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def _tiff_bomb() -> bytes:
    return _save(Image.new("1", (10_000, 10_000), 0), "TIFF", compression="tiff_deflate")


def _bmp_claiming(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.new("RGB", (8, 8)), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def _webp_claiming() -> bytes:
    data = bytearray(_save(Image.new("RGB", (8, 8), (1, 2, 3)), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    bits = (16383 - 1) | ((16383 - 1) << 14)
    data[21:25] = struct.pack("<I", bits | (int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)))
    return bytes(data)


def _jpeg_with_segments(count: int, size: int, marker: bytes = b"\xff\xfe") -> bytes:
    body = _jpeg()
    segment = marker + struct.pack(">H", size + 2) + b"A" * size
    return body[:2] + segment * count + body[2:]


def _exif_jpeg(exif: bytes) -> bytes:
    body = _jpeg()
    segment = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    return body[:2] + segment + body[2:]


def _exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return _save(_photo(), "JPEG", exif=exif.tobytes())


def _cmyk_jpeg() -> bytes:
    return _save(_photo().convert("CMYK"), "JPEG")


def _cmyk_tiff() -> bytes:
    return _save(_photo().convert("CMYK"), "TIFF")


def _png16_grey() -> bytes:
    array = (np.arange(64 * 96, dtype=np.uint32).reshape(64, 96) * 10).astype(np.uint16)
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return bytes(buf.tobytes())


def _png16_rgb() -> bytes:
    array = (np.random.default_rng(1).integers(0, 65535, (64, 96, 3))).astype(np.uint16)
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return bytes(buf.tobytes())


def _palette_alpha() -> bytes:
    image = _photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _save(image, "PNG", transparency=0)


def _png_text(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    return _save(_photo(), "PNG", pnginfo=info)


def _bad_crc() -> bytes:
    data = bytearray(_png())
    data[29] ^= 0xFF  # inside IHDR's CRC
    return bytes(data)


def _animated_gif() -> bytes:
    frames = [Image.new("P", (40, 30), i) for i in range(5)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return out.getvalue()


def _apng() -> bytes:
    frames = [Image.new("RGBA", (40, 30), (i * 40, 0, 0, 255)) for i in range(4)]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _multipage_tiff() -> bytes:
    frames = [_photo(), _photo((32, 32))]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _zip_polyglot() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.html", "<script>alert(1)</script>")
    return _jpeg() + out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    return out.getvalue()


def _strip(width: int, height: int) -> bytes:
    return _save(Image.new("RGB", (width, height), (200, 10, 10)), "PNG")


EXIF_LOOP = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 64  # 65535 entries claimed
SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script></svg>'
HTML = b"<!doctype html><html><body><script>fetch('/api/usage')</script></body></html>"

# (name, mime, acceptable, make)
_ENTRIES: list[tuple[str, str, bool, Callable[[], bytes]]] = [
    ("empty.jpg", "image/jpeg", False, lambda: b""),
    ("one-byte.png", "image/png", False, lambda: b"\x89"),
    ("truncated.jpg", "image/jpeg", False, lambda: _jpeg()[: len(_jpeg()) // 2]),
    ("truncated.png", "image/png", False, lambda: _png()[: len(_png()) // 2]),
    ("header-only.png", "image/png", False, lambda: _png()[:33]),
    ("truncated.gif", "image/gif", False, lambda: _animated_gif()[:40]),
    ("truncated.webp", "image/webp", False, lambda: _save(_photo(), "WEBP")[:30]),
    ("truncated.tiff", "image/tiff", False, lambda: _save(_photo(), "TIFF")[:200]),
    ("soi-eoi.jpg", "image/jpeg", False, lambda: b"\xff\xd8\xff\xd9"),
    ("bad-crc.png", "image/png", False, _bad_crc),
    ("random.jpg", "image/jpeg", False, lambda: np.random.default_rng(7).bytes(4096)),
    ("notes.jpg", "image/jpeg", False, lambda: b"Dear diary, this is not a photo.\n" * 20),
    ("page.png", "image/png", False, lambda: HTML),
    ("page.html", "text/html", False, lambda: HTML),
    ("script.svg", "image/svg+xml", False, lambda: SVG_SCRIPT),
    ("svg-renamed.png", "image/png", False, lambda: SVG_SCRIPT),
    ("gif-html-polyglot.gif", "image/gif", False, lambda: b"GIF89a/*<script>alert(1)</script>*/" + b"\x00" * 40),
    ("doc.jpg", "image/jpeg", False, lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
    ("archive.png", "image/png", False, _zip),
    ("bomb-claim.png", "image/png", False, lambda: _png_claiming(50_000, 50_000)),
    ("bomb-real.png", "image/png", False, _png_real_bomb),
    ("bomb.gif", "image/gif", False, lambda: _gif_claiming(65_535, 65_535)),
    ("bomb.tiff", "image/tiff", False, _tiff_bomb),
    ("bomb.bmp", "image/bmp", False, lambda: _bmp_claiming(30_000, 30_000)),
    ("bomb.webp", "image/webp", False, _webp_claiming),
    ("negative.bmp", "image/bmp", False, lambda: _bmp_claiming(-8, 8)),
    ("zero-size.png", "image/png", False, lambda: _png_claiming(0, 10)),
    ("too-long.png", "image/png", False, lambda: _strip(65_001, 1)),
    ("scan.tga", "image/x-tga", False, lambda: _save(_photo(), "TGA")),
    ("icon.ico", "image/x-icon", False, lambda: _save(_photo((32, 32)), "ICO")),
    ("image.pcx", "image/x-pcx", False, lambda: _save(_photo(), "PCX")),
    ("image.ppm", "image/x-portable-pixmap", False, lambda: _save(_photo(), "PPM")),
    ("huge-comments.jpg", "image/jpeg", True, lambda: _jpeg_with_segments(100, 65_000)),
    ("huge-app15.jpg", "image/jpeg", True, lambda: _jpeg_with_segments(40, 65_000, b"\xff\xef")),
    ("huge-text.png", "image/png", True, lambda: _png_text("x" * 3_000_000)),
    ("html-in-text.png", "image/png", True, lambda: _png_text("<script>alert(1)</script>")),
    ("zip-polyglot.jpg", "image/jpeg", True, _zip_polyglot),
    ("cmyk.jpg", "image/jpeg", True, _cmyk_jpeg),
    ("cmyk.tiff", "image/tiff", True, _cmyk_tiff),
    ("grey16.png", "image/png", True, _png16_grey),
    ("rgb16.png", "image/png", True, _png16_rgb),
    ("palette-alpha.png", "image/png", True, _palette_alpha),
    ("la.png", "image/png", True, lambda: _save(_photo().convert("LA"), "PNG")),
    ("one-bit.png", "image/png", True, lambda: _save(_photo().convert("1"), "PNG")),
    ("animated.gif", "image/gif", True, _animated_gif),
    ("animated.png", "image/png", True, _apng),
    ("pages.tiff", "image/tiff", True, _multipage_tiff),
    ("corrupt-exif.jpg", "image/jpeg", True, lambda: _exif_jpeg(b"Exif\x00\x00" + b"\xff" * 200)),
    (
        "exif-loop.jpg",
        "image/jpeg",
        True,
        lambda: _exif_jpeg(b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 64),
    ),
    ("exif-orientation-9.jpg", "image/jpeg", True, lambda: _exif_orientation(9)),
    ("exif-orientation-6.jpg", "image/jpeg", True, lambda: _exif_orientation(6)),
    ("jpeg-named.png", "image/png", True, _jpeg),
    ("wide.png", "image/png", True, lambda: _strip(60_000, 1)),
    ("tall.png", "image/png", True, lambda: _strip(1, 60_000)),
    ("dot.png", "image/png", True, lambda: _strip(1, 1)),
    ("lossless.webp", "image/webp", True, lambda: _save(_photo(), "WEBP", lossless=True)),
    ("bitmap.bmp", "image/bmp", True, lambda: _save(_photo(), "BMP")),
]
HOSTILE_NAMES = [
    "фото 📷 2026.png",
    "a\x00b.png",
    "../../../../etc/passwd.png",
    "..\\..\\windows\\win.ini.png",
    "x" * 1000 + ".png",
    "",
    "line\nbreak\r\tname.png",
    "<img src=x onerror=alert(1)>.png",
    "\u202egnp.exe",
    "CON.png",
]


@cache
def corpus() -> tuple[Hostile, ...]:
    files = [Hostile(name, make(), mime, ok) for name, mime, ok, make in _ENTRIES]
    files += [Hostile(name, _png(), "image/png", True) for name in HOSTILE_NAMES]
    return tuple(files)
