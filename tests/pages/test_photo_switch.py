"""Switching photos shows the new photo's versions only (issue #18, item 1)."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from nicegui.testing import User

from tests.pages.conftest import sample_png
from tests.pages.test_studio_page import _apply, _canvas, _studio_with_photo


async def _upload(user: User, name: str, sample: str) -> None:
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([ui.upload.SmallFileUpload(name, "image/png", sample_png(sample, size=128))])


async def test_switching_photos_replaces_the_version_strip(user: User, studio_registry: Any) -> None:
    await _studio_with_photo(user)  # astronaut.png, opened
    for expected in (1, 2):
        _apply(user, "adjust")
        await user.should_see(marker=f"version-{expected}", retries=80)
    await _upload(user, "camera.png", "camera")
    await user.should_see("camera.png", retries=50)
    await user.should_see(marker="photo-1")
    # The new photo has one version: none of the astronaut's three thumbnails stays behind.
    await user.should_not_see(marker="version-1", retries=20)
    await user.should_see(marker="version-0")
    camera_src = _canvas(user).props["src"]
    # Back to the astronaut (now second in the library): its three versions, and they work.
    user.find(marker="photo-1").click()
    await user.should_see(marker="version-2", retries=50)
    newest = _canvas(user).props["src"]
    assert newest != camera_src
    user.find(marker="version-0").click()
    await user.should_see(marker="version-0")
    assert _canvas(user).props["src"] not in {newest, camera_src}
    assert user.find(marker="undo").elements.pop().enabled is False
