"""Foundation: landing page, 404, health, settings, migrations agree with the models."""

from __future__ import annotations

import ast
import asyncio
import logging
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from nicegui.testing import User

from db import session as db_session
from db.models import Base
from db.session import make_sync_engine
from pixora_ui.logs import configure_logging
from pixora_ui.settings import SettingsError, get_settings, load_settings, reset_settings
from pixora_ui.web.fastlane import FAST_PREFIXES, _matches
from pixora_ui.workers import runner

REPO = Path(__file__).resolve().parent.parent


async def test_landing_page_shows_product_and_pricing(user: User) -> None:
    await user.open("/")
    await user.should_see("Professional photo edits in")
    await user.should_see("Remove background")
    await user.should_see("Simple pricing")
    await user.should_see("Unlimited AI edits")
    await user.should_see(marker="nav-login")
    await user.should_see(marker="nav-signup")


async def test_unknown_page_is_a_friendly_404(user: User) -> None:
    response = await user.http_client.get("/no/such/page")
    assert response.status_code == 404
    assert "find that page" in response.text


async def test_healthz_reports_database_storage_and_models(user: User) -> None:
    response = await user.http_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["storage"]["ok"] is True
    assert "isnet-medium" in body["models"]
    assert response.headers["x-request-id"]


async def test_healthz_is_503_when_the_database_is_unreachable(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    await user.open("/")
    for _ in range(200):  # start-up (migrations, job recovery) runs in the background: let it finish
        if runner.get_runner() is not None:
            break
        await asyncio.sleep(0.02)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    reset_settings()
    await db_session.dispose_engine()
    response = await user.http_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False
    # The database comes back before the app shuts down (the job runner parks its work on stop).
    monkeypatch.delenv("DATABASE_URL")
    reset_settings()
    await db_session.dispose_engine()
    assert (await user.http_client.get("/healthz")).status_code == 200


def test_weak_session_secret_refuses_production() -> None:
    with pytest.raises(SettingsError, match="SESSION_SECRET"):
        load_settings({"APP_ENV": "production", "SESSION_SECRET": "changeme"}, dotenv=False)
    with pytest.raises(SettingsError, match="SESSION_SECRET"):
        load_settings({"APP_ENV": "production"}, dotenv=False)
    ok = load_settings({"APP_ENV": "production", "SESSION_SECRET": "s" * 48}, dotenv=False)
    assert ok.app_env == "production"


def test_missing_keys_switch_features_off_visibly() -> None:
    settings = load_settings({}, dotenv=False)
    features = {f.name: f for f in settings.features()}
    assert not features["Stripe payments"].enabled
    assert "STRIPE_SECRET_KEY" in features["Stripe payments"].reason
    assert not features["Gemini"].enabled
    on = load_settings({"GEMINI_API_KEY": "k"}, dotenv=False)
    assert {f.name: f for f in on.features()}["Gemini"].enabled


def test_postgres_urls_are_normalised() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u:p@h/db"}, dotenv=False)
    assert settings.effective_database_url == "postgresql+psycopg://u:p@h/db"


def _assert_no_schema_drift() -> None:
    engine = make_sync_engine(get_settings())
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_models_and_migrations_agree_on_sqlite() -> None:
    _assert_no_schema_drift()


@pytest.mark.postgres
def test_models_and_migrations_agree_on_postgres(use_postgres: str) -> None:
    _assert_no_schema_drift()


UI_FORBIDDEN = ("sqlalchemy", "db", "stripe", "imagekitio", "google.genai", "authlib", "onnxruntime", "ncnn", "cv2")


@pytest.mark.parametrize("folder", ["pages", "components"])
def test_ui_modules_import_only_services(folder: str) -> None:
    for path in (REPO / folder).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                assert not any(name == f or name.startswith(f + ".") or root == f for f in UI_FORBIDDEN), (
                    f"{path.relative_to(REPO)} imports {name}: pages and components must call services"
                )


def test_secrets_never_reach_the_log_even_in_tracebacks_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "sk_live_" + "S3cr3t" * 4
    settings = load_settings({"STRIPE_SECRET_KEY": secret, "LOG_JSON": "true"}, dotenv=False)
    configure_logging(settings)
    log = logging.getLogger("pixora.test")
    log.warning("calling stripe with %s", secret, extra={"key": secret})
    try:
        raise RuntimeError(f"bad key {secret}")
    except RuntimeError:
        log.exception("stripe failed")
    out = capsys.readouterr().out
    assert "stripe failed" in out and "calling stripe with ***" in out
    assert secret not in out


def test_fast_lane_matches_whole_path_segments_only() -> None:
    assert _matches("/api/usage", FAST_PREFIXES)
    assert _matches("/api/jobs/abc/cancel", FAST_PREFIXES)
    assert _matches("/media/0123/preview", FAST_PREFIXES)
    assert not _matches("/api/usage-x", FAST_PREFIXES)
    assert not _matches("/api/jobsfoo", FAST_PREFIXES)
    assert not _matches("/mediax", FAST_PREFIXES)
