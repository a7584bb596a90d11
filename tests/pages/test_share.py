"""Sharing a version from the studio's download dialog: the public toggle and its link."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

from nicegui import ui
from nicegui.testing import User
from PIL import Image

from db.models import Asset
from db.session import session_scope
from tests.pages.conftest import make_user, sample_png, sign_in
from tests.transform.conftest import wait_until


async def _public(asset_id: str) -> bool:
    async with session_scope() as session:
        asset = await session.get(Asset, asset_id, populate_existing=True)
        assert asset is not None
        return asset.public


async def test_a_version_is_shared_and_unshared_from_the_download_dialog(user: User, studio_registry: Any) -> None:
    await make_user()
    await sign_in(user)
    await user.should_see(marker="studio", retries=300)  # signing in hashes a password: slow on a busy machine
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([ui.upload.SmallFileUpload("astronaut.png", "image/png", sample_png(size=256))])
    await user.should_see(marker="version-0", retries=100)
    user.find(marker="download").click()
    await user.should_see(marker="share-public")
    switch = user.find(marker="share-public").elements.pop()
    assert isinstance(switch, ui.switch) and switch.value is False
    switch.set_value(True)
    await user.should_see(marker="share-link", retries=100)
    link_input = user.find(marker="share-link").elements.pop()
    assert isinstance(link_input, ui.input)
    link = urlsplit(str(link_input.value)).path
    photo = link.split("/")[2]

    async def shared() -> bool:
        return await _public(photo)

    await wait_until(shared, timeout=30, what="the version to be shared")
    response = await user.http_client.get(f"{link}?tr=w-100")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (100, 100)

    switch.set_value(False)

    async def private() -> bool:
        return not await _public(photo)

    await wait_until(private, timeout=30, what="the version to be private again")
    assert (await user.http_client.get(f"{link}?tr=w-100")).status_code == 401
