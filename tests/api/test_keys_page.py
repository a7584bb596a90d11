"""API keys on the profile page (NiceGUI's simulated user) and from `main.py admin create-api-key`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
from nicegui import ui
from nicegui.testing import User

from pixora_ui.api import keys
from tests.api.conftest import bearer
from tests.auth.conftest import RETRIES, make_user, sign_in

REPO = Path(__file__).resolve().parents[2]


async def test_create_copy_and_revoke_a_key_on_the_profile(user: User, http: httpx.AsyncClient) -> None:
    owner = await make_user()
    await sign_in(user)
    await user.should_see(marker="developer-section", retries=RETRIES)
    await user.should_see(marker="no-api-keys")
    user.find(marker="api-key-name").type("Shop website")
    user.find(marker="create-api-key").click()
    await user.should_see("Copy your new key now", retries=RETRIES)
    shown = user.find(marker="new-api-key").elements.pop()
    assert isinstance(shown, ui.input)
    secret = str(shown.value)
    assert secret.startswith("pix_live_")
    await user.should_see("Shop website")
    await user.should_see(f"{secret[:17]}…")
    await user.should_see("last used never")
    assert (await http.get("/api/v1/usage", headers=bearer(secret))).status_code == 200

    [view] = await keys.keys_of(owner)
    user.find(marker=f"revoke-api-key-{view.id}").click()
    await user.should_see("Revoke “Shop website”?")
    user.find(marker="confirm-revoke-api-key").click()
    await user.should_see(marker="no-api-keys", retries=RETRIES)
    assert (await http.get("/api/v1/usage", headers=bearer(secret))).status_code == 401
    assert await keys.keys_of(owner) == []


async def test_admin_create_api_key_prints_it_once(isolated_env: Path, http: httpx.AsyncClient) -> None:
    owner = await make_user("ops@example.com")
    process = await _run_cli("admin", "create-api-key", "OPS@example.com", "--name", "Nightly export")
    code, out, err = process
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("pix_live_") and "shown only this once" in err
    [view] = await keys.keys_of(owner)
    assert view.name == "Nightly export" and secret.startswith(view.prefix)
    assert (await http.get("/api/v1/usage", headers=bearer(secret))).status_code == 200
    code, out, err = await _run_cli("admin", "create-api-key", "missing@example.com")
    assert code == 1 and "no user with the email missing@example.com" in err and not out


async def _run_cli(*args: str) -> tuple[int, str, str]:
    """`main.py` in a subprocess without blocking the event loop that serves the app."""
    # Without NiceGUI's and pytest's markers, which would switch main.py into the simulated app.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "main.py"),
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return int(process.returncode or 0), out.decode(), err.decode()
