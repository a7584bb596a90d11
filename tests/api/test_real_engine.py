"""The remove.bg-compatible endpoint and /api/v1 with the real engine (installed ISNet weights)."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.api.conftest import new_key
from tests.services.conftest import jpeg_bytes, make_user

pytestmark = pytest.mark.models


async def test_remove_bg_with_the_real_model(real_api_url: str) -> None:
    key = await new_key(await make_user())
    async with httpx.AsyncClient(base_url=real_api_url, timeout=300) as http:
        response = await http.post(
            "/api/v1.0/removebg",
            headers={"X-Api-Key": key},
            files={"image_file": ("astronaut.jpg", jpeg_bytes(), "image/jpeg")},
            data={"size": "full", "type": "person"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-type"] == "person" and response.headers["x-credits-charged"] == "1"
        image = np.asarray(Image.open(io.BytesIO(response.content)))
        assert image.shape == (512, 512, 4)
        alpha = image[:, :, 3]
        assert alpha.min() == 0 and alpha.max() == 255 and 0.1 < (alpha > 128).mean() < 0.9
        top, height = int(response.headers["x-foreground-top"]), int(response.headers["x-foreground-height"])
        assert 0 <= top < 256 and height > 200  # the astronaut fills much of the frame
        tools = (await http.get("/api/v1/tools", headers={"X-Api-Key": key})).json()["data"]
        names = {t["name"] for t in tools}
        assert {"remove-bg", "upscale", "retouch", "smart-crop", "prompt"} <= names
        cutout = next(t for t in tools if t["name"] == "remove-bg")
        assert cutout["available"] and cutout["credit_cost"] == 1
