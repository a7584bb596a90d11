"""The remove.bg-compatible endpoint over real HTTP: remove.bg's request fields, answer and errors.

The test registry's `remove-bg` keeps a centred box of the photo (h/4..3h/4, w/4..3w/4), so sizes
and the foreground box are known exactly.
"""

from __future__ import annotations

import base64
import io
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image

from pixora_ui.settings import reset_settings
from tests.api.conftest import new_key
from tests.services.conftest import jpeg_bytes, make_pro, make_user, usage_count

URL = "/api/v1.0/removebg"


def _photo(width: int = 400, height: int = 300) -> bytes:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, :] = (200, 40, 40)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _errors(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["code"] == code and error["title"], body
    return dict(error)


async def test_multipart_client_gets_a_png_and_remove_bg_headers(http: httpx.AsyncClient, any_db: str) -> None:
    owner = await make_user()
    key = await new_key(owner)
    response = await http.post(
        URL,
        headers={"X-Api-Key": key},
        files={"image_file": ("shop.png", _photo(), "image/png")},
        data={"size": "auto", "type": "product"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert (response.headers["x-width"], response.headers["x-height"]) == ("400", "300")
    assert response.headers["x-credits-charged"] == "1" and response.headers["x-type"] == "product"
    box = [response.headers[f"x-foreground-{k}"] for k in ("left", "top", "width", "height")]
    assert box == ["100", "75", "200", "150"]
    image = np.asarray(Image.open(io.BytesIO(response.content)))
    assert image.shape == (300, 400, 4)
    assert image[0, 0, 3] == 0 and image[150, 200, 3] == 255 and tuple(image[150, 200, :3]) == (200, 40, 40)
    assert await usage_count(owner) == 1
    # remove.bg keeps nothing: the upload and its cut-out are not left in the library.
    listed = await http.get("/api/v1/photos", headers={"X-Api-Key": key})
    assert listed.json()["data"] == []


async def test_base64_bg_color_jpg_crop_and_json(http: httpx.AsyncClient) -> None:
    key = await new_key(await make_pro())
    headers = {"X-Api-Key": key}
    b64 = base64.b64encode(_photo()).decode()
    green = await http.post(
        URL, headers=headers, data={"image_file_b64": b64, "size": "full", "format": "jpg", "bg_color": "00ff00"}
    )
    assert green.status_code == 200, green.text
    assert green.headers["content-type"] == "image/jpeg" and green.headers["x-credits-charged"] == "0"
    pixels = np.asarray(Image.open(io.BytesIO(green.content)).convert("RGB")).astype(int)
    assert abs(pixels[5, 5] - [0, 255, 0]).max() < 20 and abs(pixels[150, 200] - [200, 40, 40]).max() < 20

    cropped = await http.post(
        URL, headers=headers, data={"image_file_b64": b64, "size": "full", "crop": "true", "crop_margin": "10px"}
    )
    assert (cropped.headers["x-width"], cropped.headers["x-height"]) == ("220", "170")
    assert cropped.headers["x-foreground-left"] == "10" and cropped.headers["x-foreground-top"] == "10"
    assert Image.open(io.BytesIO(cropped.content)).size == (220, 170)
    percent = await http.post(
        URL, headers=headers, data={"image_file_b64": b64, "size": "full", "crop": "true", "crop_margin": "10%"}
    )
    assert (percent.headers["x-width"], percent.headers["x-height"]) == ("240", "180")

    alpha = await http.post(URL, headers=headers, data={"image_file_b64": b64, "size": "full", "channels": "alpha"})
    mask = np.asarray(Image.open(io.BytesIO(alpha.content)).convert("L"))
    assert mask[0, 0] == 0 and mask[150, 200] == 255

    preview = await http.post(URL, headers=headers, json={"image_file_b64": b64})  # default size: preview
    assert int(preview.headers["x-width"]) * int(preview.headers["x-height"]) <= 250_000
    assert Image.open(io.BytesIO(preview.content)).size == (
        int(preview.headers["x-width"]),
        int(preview.headers["x-height"]),
    )

    as_json = await http.post(
        URL, headers={**headers, "Accept": "application/json"}, data={"image_file_b64": b64, "size": "full"}
    )
    data = as_json.json()["data"]
    assert (data["foreground_left"], data["foreground_top"], data["foreground_width"], data["foreground_height"]) == (
        100,
        75,
        200,
        150,
    )
    assert Image.open(io.BytesIO(base64.b64decode(data["result_b64"]))).size == (400, 300)

    noise = np.random.default_rng(7).integers(0, 256, (900, 1200, 3), dtype=np.uint8)
    big = io.BytesIO()
    Image.fromarray(noise).save(big, format="PNG")
    big_b64 = base64.b64encode(big.getvalue()).decode()
    assert len(big_b64) > 3_000_000  # a multipart text field far over Starlette's 1 MB default
    large = await http.post(URL, headers=headers, files={"image_file_b64": (None, big_b64)}, data={"size": "full"})
    assert large.status_code == 200, large.text
    assert (large.headers["x-width"], large.headers["x-height"]) == ("1200", "900")

    archive = await http.post(URL, headers=headers, data={"image_file_b64": b64, "size": "full", "format": "zip"})
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert sorted(opened.namelist()) == ["alpha.png", "color.jpg"]


async def test_remove_bg_errors(http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = {"image_file": ("a.jpg", jpeg_bytes(), "image/jpeg")}
    assert _errors(await http.post(URL, files=photo), 403, "auth_failed")["title"] == "Missing API Key"
    bad = await http.post(URL, files=photo, headers={"X-Api-Key": "pix_live_nope"})
    assert _errors(bad, 403, "auth_failed")["title"] == "API Key invalid"
    owner = await make_user()
    key = await new_key(owner)
    headers = {"X-Api-Key": key}
    _errors(await http.post(URL, headers=headers, data={"size": "full"}), 400, "missing_source")
    _errors(await http.post(URL, headers=headers, files=photo, data={"size": "huge"}), 400, "invalid_parameters")
    _errors(await http.post(URL, headers=headers, files=photo, data={"bg_color": "nope"}), 400, "invalid_parameters")
    url_only = await http.post(URL, headers=headers, data={"image_url": "http://169.254.169.254/x.jpg"})
    assert "fetches no URLs" in _errors(url_only, 400, "invalid_parameters")["detail"]
    not_image = await http.post(URL, headers=headers, files={"image_file": ("a.jpg", b"not a photo", "image/jpeg")})
    _errors(not_image, 400, "invalid_image")
    _errors(await http.post(URL, headers=headers, data={"image_file_b64": "%%%"}), 400, "invalid_image")
    assert await usage_count(owner) == 0  # nothing above was charged
    for _ in range(3):
        assert (await http.post(URL, headers=headers, files=photo)).status_code == 200
    _errors(await http.post(URL, headers=headers, files=photo), 402, "insufficient_credits")

    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    reset_settings()
    big = await http.post(URL, headers=headers, files={"image_file": ("a.jpg", b"\xff" * 3_000_000, "image/jpeg")})
    _errors(big, 413, "file_too_large")

    monkeypatch.setenv("API_RATE_LIMIT", "1")
    reset_settings()
    fresh = {"X-Api-Key": await new_key(await make_pro("pro2@example.com"))}
    assert (await http.post(URL, headers=fresh, files=photo)).status_code == 200
    limited = await http.post(URL, headers=fresh, files=photo)
    _errors(limited, 429, "rate_limit_exceeded")
    assert int(limited.headers["retry-after"]) >= 1
