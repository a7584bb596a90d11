"""NiceGUI's upload route refuses oversized bodies (413) before spooling them to disk."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nicegui import ui
from nicegui.testing import User

from pixora_ui.settings import reset_settings
from pixora_ui.web.body_limit import upload_body_limit
from tests.pages.conftest import make_user, sample_png, sign_in

MB = 1024 * 1024


@pytest.fixture
def small_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    reset_settings()


async def _upload_url(user: User) -> str:
    await make_user()
    await sign_in(user)
    await user.should_see(marker="studio")
    upload = user.find(ui.upload).elements.pop()
    return str(upload.props["url"])


@pytest.mark.usefixtures("small_uploads")
async def test_declared_oversize_is_refused_unread(user: User) -> None:
    url = await _upload_url(user)
    assert upload_body_limit() == 21 * MB
    read: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(1)
        yield b"x" * 10

    response = await user.http_client.post(
        url, content=body(), headers={"content-length": str(22 * MB), "content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413
    assert "too large" in response.text
    assert read == []  # refused from the header alone


@pytest.mark.usefixtures("small_uploads")
async def test_chunked_oversize_is_aborted(user: User) -> None:
    url = await _upload_url(user)
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="f"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
        for _ in range(40):
            sent.append(MB)
            yield b"\0" * MB
        yield b"\r\n--b--\r\n"

    response = await user.http_client.post(
        url, content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413
    assert sum(sent) <= 23 * MB  # stopped soon after the cap, not after the whole body


@pytest.mark.usefixtures("small_uploads")
async def test_normal_upload_passes(user: User) -> None:
    url = await _upload_url(user)
    response = await user.http_client.post(url, files={"file": ("astronaut.png", sample_png(size=128), "image/png")})
    assert response.status_code == 200, response.text
    assert response.json() == {"upload": "success"}
    await user.should_see("astronaut.png", retries=50)
