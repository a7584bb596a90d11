"""The studio's address names the photo and version on screen (issue #18, item 6)."""

from __future__ import annotations

from typing import Any

from nicegui.testing import User

from db.session import session_scope
from pixora_ui.services import assets
from tests.pages.conftest import make_user, sample_png, sign_in
from tests.pages.test_studio_page import _apply, _canvas, _studio_with_photo


def _ids(user: User) -> tuple[str, str]:
    """(photo id, version id) of the version on screen, from its media URL and the library row."""
    photo = user.find(marker="photo-0").elements.pop().props["data-photo"]
    version = _canvas(user).props["src"].split("/media/")[1].split("?")[0]
    return photo, version


async def test_an_address_opens_that_photo_and_version(user: User, studio_registry: Any) -> None:
    await _studio_with_photo(user)
    _apply(user, "adjust")
    await user.should_see(marker="version-1", retries=80)
    photo, newest = _ids(user)
    user.find(marker="undo").click()
    _, original = _ids(user)
    assert original != newest
    # A reload of the address the page shows: the original again, not the newest version.
    await user.open(f"/studio/{photo}?v={original}")
    await user.should_see(marker="version-1", retries=50)
    assert _ids(user) == (photo, original)
    await user.open(f"/studio/{photo}")
    await user.should_see(marker="version-1", retries=50)
    assert _ids(user) == (photo, newest)


async def test_someone_elses_photo_is_not_found_and_the_library_shows(user: User, studio_registry: Any) -> None:
    bob = await make_user("bob@example.com")
    async with session_scope() as session:
        bobs = await assets.upload(session, owner_id=bob, data=sample_png(size=64), filename="bob.png")
    await make_user()
    await sign_in(user, next_path=f"/studio/{bobs.id}")
    await user.should_see("That photo was not found. Pick one from your library.", retries=50)
    await user.should_see("No photos yet. Drop some above.")
    await user.should_not_see("bob.png")
    await user.should_not_see(marker="version-0")
