"""Odd JSON inputs get a 400 (not a 500), and the job routes share one owner check."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from nicegui.testing import User

from tests.services.conftest import make_user, png_bytes, upload_photo
from tests.services.test_api import sign_in

pytestmark = pytest.mark.usefixtures("test_registry")


async def test_mask_json_with_a_non_string_image_is_a_400(user: User) -> None:
    owner = await make_user()
    photo = await upload_photo(owner)
    await sign_in(user, owner)
    for image in (123, None, ["a"], {"b": 1}):
        response = await user.http_client.post(f"/api/assets/{photo}/mask", json={"image": image})
        assert response.status_code == 400, (image, response.text)
        assert response.json()["error"] == "bad_image"
    response = await user.http_client.post(f"/api/assets/{photo}/mask", json=["not", "an", "object"])
    assert response.status_code == 400
    # A big JSON body (parsed in a thread) still works.
    strokes = png_bytes(np.random.default_rng(1).integers(0, 255, (400, 400, 3), dtype=np.uint8))
    data_url = "data:image/png;base64," + base64.b64encode(strokes).decode()
    assert len(data_url) > 64 * 1024
    response = await user.http_client.post(f"/api/assets/{photo}/mask", json={"image": data_url})
    assert response.status_code == 201, response.text


async def test_job_and_cancel_routes_check_owner(user: User) -> None:
    owner = await make_user()
    await sign_in(user, owner)
    assert (await user.http_client.get("/api/jobs/nope")).status_code == 404
    assert (await user.http_client.post("/api/jobs/nope/cancel")).status_code == 404
    user.http_client.cookies.clear()
    assert (await user.http_client.get("/api/jobs/nope")).status_code == 401
    assert (await user.http_client.post("/api/jobs/nope/cancel")).status_code == 401
