"""Image I/O: decode by content, orientation, colour conversion, limits and clean encoding."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageOps

from pixora_ui.engine.ops.imageio import (
    FLATTEN_ROWS,
    ImageInputError,
    OutputFormat,
    decode,
    encode,
    encode_png,
    flatten,
    make_preview,
)

MB = 1024 * 1024
LIMITS = {"max_bytes": 25 * MB, "max_pixels": 50_000_000}


def _save(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected", "kwargs"),
    [
        ("JPEG", "jpeg", {"quality": 95}),
        ("PNG", "png", {}),
        ("WEBP", "webp", {"lossless": True}),
        ("GIF", "gif", {}),
        ("BMP", "bmp", {}),
        ("TIFF", "tiff", {}),
    ],
)
def test_decodes_every_format_by_content(
    photo: Callable[[str], np.ndarray], fmt: str, expected: str, kwargs: dict[str, object]
) -> None:
    pixels = photo("chelsea")
    data = _save(Image.fromarray(pixels), fmt, **kwargs)
    decoded = decode(data, **LIMITS)
    assert decoded.format == expected
    assert decoded.mime == f"image/{expected}"
    assert (decoded.width, decoded.height) == (451, 300)
    assert decoded.pixels.shape == (300, 451, 3)
    assert decoded.pixels.dtype == np.uint8
    if fmt in {"PNG", "WEBP", "BMP", "TIFF"}:
        assert np.array_equal(decoded.pixels, pixels)
    elif fmt == "JPEG":
        assert np.abs(decoded.pixels.astype(int) - pixels).mean() < 4


def test_decodes_heic(photo: Callable[[str], np.ndarray]) -> None:
    heif = pillow_heif.from_bytes(mode="RGB", size=(451, 300), data=photo("chelsea").tobytes())
    out = io.BytesIO()
    heif.save(out, quality=90)
    decoded = decode(out.getvalue(), **LIMITS)
    assert decoded.format in {"heif", "heic"}
    assert decoded.pixels.shape == (300, 451, 3)
    assert np.abs(decoded.pixels.astype(int) - photo("chelsea")).mean() < 8


def test_gif_first_frame() -> None:
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode(out.getvalue(), **LIMITS)
    assert tuple(decoded.pixels[5, 5]) == (255, 0, 0)


def _with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _pillow_upright(data: bytes, mode: str) -> np.ndarray:
    """What Pillow's own ImageOps.exif_transpose makes of the file: the reference for every orientation."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        return np.asarray(upright.convert(mode))


ORIENTATIONS = range(2, 9)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_lossless_orientation_matches_pillow(orientation: int, mode: str) -> None:
    # Random pixels in a non-square frame: any wrong flip or turn changes (nearly) every pixel.
    rng = np.random.default_rng(orientation)
    shape = (6, 10) if mode == "L" else (6, 10, len(mode))
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    if mode == "RGBA":
        arr[:, :, 3] = rng.integers(0, 255, (6, 10), dtype=np.uint8)  # translucent: the alpha is kept
    data = _save(Image.fromarray(arr), "PNG", exif=_with_orientation(orientation))
    pixels = decode(data, **LIMITS).pixels
    expected = _pillow_upright(data, "RGBA" if mode == "RGBA" else "RGB")  # grey decodes to RGB
    assert pixels.shape == expected.shape
    assert pixels.shape[:2] == ((10, 6) if orientation >= 5 else (6, 10))
    assert np.array_equal(pixels, expected)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_jpeg_orientation_matches_pillow(orientation: int, mode: str) -> None:
    # Colour JPEGs take the OpenCV fast path, grey ones Pillow's: both must turn like Pillow does.
    # Flat 16 px blocks of distinct random colours survive JPEG; a wrong transform moves whole blocks.
    rng = np.random.default_rng(100 + orientation)
    blocks = rng.integers(0, 256, (3, 5, 3), dtype=np.uint8)
    arr = np.kron(blocks, np.ones((16, 16, 1), dtype=np.uint8))  # 48 x 80
    image = Image.fromarray(arr).convert(mode)
    data = _save(image, "JPEG", quality=95, exif=_with_orientation(orientation))
    pixels = decode(data, **LIMITS).pixels
    expected = _pillow_upright(data, "RGB")
    assert pixels.shape == expected.shape
    assert pixels.shape[:2] == ((80, 48) if orientation >= 5 else (48, 80))
    assert np.abs(pixels.astype(int) - expected).mean() < 3


def test_png_orientation_is_applied_too() -> None:
    arr = np.zeros((10, 30, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(Image.fromarray(arr), "PNG", exif=exif)
    assert decode(data, **LIMITS).pixels.shape == (30, 10, 3)


def test_keeps_alpha_and_drops_an_opaque_one() -> None:
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[:, :, 0] = 200
    rgba[:, :4, 3] = 255
    decoded = decode(_save(Image.fromarray(rgba), "PNG"), **LIMITS)
    assert decoded.has_alpha
    assert np.array_equal(decoded.pixels[:, :, 3], rgba[:, :, 3])
    rgba[:, :, 3] = 255
    assert decode(_save(Image.fromarray(rgba), "PNG"), **LIMITS).pixels.shape == (8, 8, 3)


def test_palette_with_transparency_becomes_rgba() -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(1, (0, 0, 5, 10))
    data = _save(image, "PNG", transparency=0)
    pixels = decode(data, **LIMITS).pixels
    assert pixels.shape == (10, 10, 4)
    assert tuple(pixels[0, 0]) == (0, 255, 0, 255)
    assert pixels[0, 9, 3] == 0


def test_sixteen_bit_grey_is_scaled_to_eight_bits() -> None:
    arr = np.full((6, 6), 65535, dtype=np.uint16)
    arr[:, :3] = 32896  # 128 * 257
    data = _save(Image.fromarray(arr), "PNG")
    pixels = decode(data, **LIMITS).pixels
    assert pixels.shape == (6, 6, 3)
    assert tuple(pixels[0, 0]) == (128, 128, 128)
    assert tuple(pixels[0, 5]) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red ink
    pixels = decode(_save(cmyk, "JPEG", quality=95), **LIMITS).pixels
    assert pixels.shape == (16, 16, 3)
    r, g, b = (int(v) for v in pixels[8, 8])
    assert r > 200 and g < 60 and b < 60


def _swapped_primaries_profile() -> bytes:
    """The sRGB profile with its red and blue primaries swapped (and renamed): a "BGR" colour space."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", icc[128:132])[0]
    entries = {bytes(icc[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    icc[red + 4 : red + 12], icc[blue + 4 : blue + 12] = icc[blue + 4 : blue + 12], icc[red + 4 : red + 12]
    return bytes(icc).replace(b"sRGB", b"Test").replace("sRGB".encode("utf-16-be"), "Test".encode("utf-16-be"))


def test_icc_profile_is_converted_to_srgb() -> None:
    arr = np.zeros((8, 8, 3), dtype=np.uint8)
    arr[:, :, 0] = 255  # "red" in a profile whose red primary is sRGB's blue
    data = _save(Image.fromarray(arr), "PNG", icc_profile=_swapped_primaries_profile())
    pixels = decode(data, **LIMITS).pixels
    r, g, b = (int(v) for v in pixels[4, 4])
    assert b > 200 and r < 60, (r, g, b)


def test_not_an_image() -> None:
    with pytest.raises(ImageInputError, match="not an image") as info:
        decode(b"%PDF-1.7 this is a document", **LIMITS)
    assert info.value.code == "not_image"
    with pytest.raises(ImageInputError, match="empty"):
        decode(b"", **LIMITS)


def test_too_many_bytes() -> None:
    with pytest.raises(ImageInputError, match="larger than the 1 MB limit") as info:
        decode(b"\xff" * (MB + 1), max_bytes=MB, max_pixels=50_000_000)
    assert info.value.code == "too_many_bytes"


def test_too_many_pixels(photo: Callable[[str], np.ndarray]) -> None:
    data = _save(Image.fromarray(photo("chelsea")), "JPEG")
    with pytest.raises(ImageInputError, match=r"451x300 .*larger than the 0.1 MP limit") as info:
        decode(data, max_bytes=25 * MB, max_pixels=100_000)
    assert info.value.code == "too_many_pixels"


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageInputError, match="decompression bomb") as info:
        decode(_png_header_only(60_000, 60_000), **LIMITS)
    assert info.value.code == "bomb"


def test_truncated_file_is_damaged(photo: Callable[[str], np.ndarray]) -> None:
    data = _save(Image.fromarray(photo("coffee")), "PNG")
    with pytest.raises(ImageInputError, match="damaged or truncated") as info:
        decode(data[: len(data) // 2], **LIMITS)
    assert info.value.code == "damaged"


def test_png_writer_is_lossless_and_readable_by_pillow(photo: Callable[[str], np.ndarray]) -> None:
    rgb = photo("astronaut")
    back = np.asarray(Image.open(io.BytesIO(encode(rgb, "png"))))
    assert np.array_equal(back, rgb)
    rgba = np.dstack([rgb, np.tile(np.arange(512, dtype=np.uint16) % 256, (512, 1)).astype(np.uint8)])
    back = np.asarray(Image.open(io.BytesIO(encode_png(rgba))))
    assert np.array_equal(back, rgba)
    # Colour under alpha 0 is zeroed (invisible anyway): smaller and faster files.
    back = np.asarray(Image.open(io.BytesIO(encode(rgba, "png"))))
    assert np.array_equal(back[:, :, 3], rgba[:, :, 3])
    assert not back[rgba[:, :, 3] == 0, :3].any()
    visible = rgba[:, :, 3] > 0
    assert np.array_equal(back[visible], rgba[visible])


def test_jpeg_and_webp_carry_no_metadata(photo: Callable[[str], np.ndarray]) -> None:
    exif = Image.Exif()
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # GPS latitude
    exif[0x010F] = "PhoneMaker"
    source = _save(Image.fromarray(photo("coffee")), "JPEG", exif=exif)
    decoded = decode(source, **LIMITS)
    formats: tuple[OutputFormat, ...] = ("jpeg", "webp", "png")
    for fmt in formats:
        out = encode(decoded.pixels, fmt, 85)
        reopened = Image.open(io.BytesIO(out))
        assert not reopened.getexif(), fmt
        assert b"PhoneMaker" not in out
        assert "exif" not in reopened.info


def test_jpeg_flattens_alpha_on_white_and_quality_changes_size(photo: Callable[[str], np.ndarray]) -> None:
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(encode(rgba, "jpeg", 95))))
    assert back.shape == (10, 10, 3)
    assert back.min() > 245
    rgb = photo("astronaut")
    assert len(encode(rgb, "jpeg", 30)) < len(encode(rgb, "jpeg", 95))
    assert len(encode(rgb, "webp", 30)) < len(encode(rgb, "webp", 95))


def test_webp_keeps_alpha() -> None:
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)
    rgba[:, :8] = (10, 200, 30, 255)
    back = np.asarray(Image.open(io.BytesIO(encode(rgba, "webp", 90))))
    assert back.shape == (16, 16, 4)
    assert back[4, 2, 3] == 255 and back[4, 13, 3] == 0


def test_preview_is_small_webp(photo: Callable[[str], np.ndarray]) -> None:
    big = np.tile(photo("coffee"), (3, 3, 1))  # 1200 x 1800
    preview = Image.open(io.BytesIO(make_preview(big)))
    assert preview.format == "WEBP"
    assert max(preview.size) == 512
    assert preview.size == (512, 341)
    small = Image.open(io.BytesIO(make_preview(photo("chelsea"), max_side=1000)))
    assert small.size == (451, 300)  # never enlarged


def test_flatten_in_bands_matches_one_blend_across_band_edges() -> None:
    """The bands meet without a seam: every row, the last partial band included, is blended."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (FLATTEN_ROWS * 2 + 37, 50, 4), dtype=np.uint8)
    alpha = pixels[:, :, 3:4].astype(np.float64) / 255
    expected = np.round(pixels[:, :, :3] * alpha + np.array([10, 20, 30]) * (1 - alpha))
    flat = flatten(pixels, (10, 20, 30))
    assert flat.shape == (*pixels.shape[:2], 3) and flat.dtype == np.uint8
    assert np.abs(flat.astype(np.int64) - expected).max() <= 1
