"""Item 6: NUL characters in ids and text are answered at the edge (404/400 with a message), the same
on SQLite and PostgreSQL (which refuses NUL in text and used to answer 500)."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from db.session import session_scope
from pixora_ui.auth import accounts
from pixora_ui.auth.errors import InvalidCredentials, InvalidEmail
from pixora_ui.auth.sessions import SESSION_COOKIE, create_session
from pixora_ui.engine.tools.registry import ParamError
from pixora_ui.services import jobs
from tests.auth.conftest import PASSWORD, RETRIES
from tests.auth.conftest import make_user as make_password_user
from tests.services.conftest import make_user, upload_photo, usage_count

pytestmark = pytest.mark.usefixtures("any_db", "test_registry")


async def _signed_in(user: User) -> int:
    user_id = await make_user()
    async with session_scope() as session:
        token = await create_session(session, user_id=user_id)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    return user_id


@pytest.mark.parametrize(
    "path", ["/media/%00", "/media/%00/preview", "/media/abc%00def", "/api/jobs/%00", "/api/jobs/%00/cancel"]
)
async def test_nul_in_a_path_is_a_404_signed_out_and_in(user: User, path: str) -> None:
    method = "POST" if path.endswith("cancel") else "GET"
    response = await user.http_client.request(method, path)
    assert response.status_code == 404, response.text
    await _signed_in(user)
    response = await user.http_client.request(method, path)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"


async def test_nul_in_a_query_is_a_400_with_a_message(user: User) -> None:
    user_id = await _signed_in(user)
    asset_id = await upload_photo(user_id)
    response = await user.http_client.get(f"/media/{asset_id}?download=a%00b")
    assert response.status_code == 400
    assert "not allowed" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"asset_id": "\u0000", "tool": "t-invert"},
        {"asset_id": "abc\u0000", "tool": "t-invert"},
        {"asset_id": "ASSET", "tool": "t-invert", "idempotency_key": "k\u0000"},
        {"asset_id": "ASSET", "tool": "t-invert\u0000"},
        {"asset_id": "ASSET", "tool": "prompt", "params": {"prompt": "sky\u0000"}},
    ],
)
async def test_nul_in_json_fields_is_a_400(user: User, body: dict[str, object]) -> None:
    user_id = await _signed_in(user)
    asset_id = await upload_photo(user_id)
    payload = {
        key: value.replace("ASSET", asset_id) if isinstance(value, str) else value for key, value in body.items()
    }
    response = await user.http_client.post("/api/jobs", json=payload)
    assert response.status_code == 400, response.text
    assert "not allowed" in response.json()["message"]
    assert await usage_count(user_id) == 0


async def test_nul_in_a_prompt_through_the_service_is_a_param_error() -> None:
    user_id = await make_user()
    asset_id = await upload_photo(user_id)
    with pytest.raises(ParamError):
        async with session_scope() as session:
            await jobs.submit(session, user_id=user_id, asset_id=asset_id, tool="prompt", params={"prompt": "a\u0000"})
    assert await usage_count(user_id) == 0


async def test_nul_in_sign_in_and_sign_up_fields() -> None:
    await make_password_user()
    with pytest.raises(InvalidCredentials):
        await accounts.sign_in(email="ada@example.com\u0000", password=PASSWORD, address="1.2.3.4")
    with pytest.raises(InvalidCredentials):
        await accounts.sign_in(email="ada@example.com", password="pass\u0000word", address="1.2.3.4")
    with pytest.raises(InvalidEmail):
        await accounts.sign_up(email="\u0000@example.com", password=PASSWORD, name="x", address="1.2.3.4")
    assert accounts.clean_name("Ada\u0000 Lovelace") == "Ada Lovelace"


async def test_nul_in_the_sign_in_page_email_shows_the_usual_message(user: User) -> None:
    await make_password_user()
    await user.open("/login")
    user.find(marker="email").type("ada@example.com\u0000")
    user.find(marker="password").type(PASSWORD)
    user.find(marker="login-submit").click()
    await user.should_see("Wrong email or password.", retries=RETRIES)
