"""Shared fixtures: an isolated data folder and database for every test, on SQLite or PostgreSQL.

Every test gets its own DATA_DIR (a copy of a database migrated once per run), fresh settings and
a fresh engine. PostgreSQL tests use one schema per run on the server at 127.0.0.1:5432 and empty
every table before each test.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nicegui.testing import User
from sqlalchemy import create_engine, text

from db.migrate import upgrade
from db.models import Base
from db.session import dispose_engine
from pixora_ui.settings import Settings, get_settings, load_settings, reset_settings
from tests.app_server import RUNNING_LOGS, log_tail

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "data" / "models"
PG_URL = os.environ.get("PIXORA_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")

BASE_ENV = {
    "APP_ENV": "test",
    "BCRYPT_ROUNDS": "4",  # cost 12 is tested on its own; everything else needs speed
    "LOG_JSON": "false",
    "LOG_LEVEL": "WARNING",
    "AUTO_MIGRATE": "true",
    "BASE_URL": "http://localhost:8080",
    "SESSION_SECRET": "test-secret-" + "x" * 40,
    "WARM_UP_MODELS": "false",  # every test's server would load ISNet; the warm-up tests switch it on
    # Jobs run inside the test process unless a test asks for worker processes (tests/workers/).
    "ENGINE_WORKERS": "0",
}
# Keys of optional integrations: tests switch them on explicitly.
CLEARED = (
    "DATABASE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_PRICE_PRO",
    "STRIPE_API_BASE",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "GOOGLE_DISCOVERY_URL",
    "IMAGEKIT_PRIVATE_KEY",
    "IMAGEKIT_PUBLIC_KEY",
    "IMAGEKIT_URL_ENDPOINT",
    "IMAGEKIT_API_BASE",
    "IMAGEKIT_UPLOADS",
    "GEMINI_API_KEY",
    "GEMINI_BASE_URL",
    "SMTP_HOST",
    "PROVIDER_PREFERENCE",
    "QUEUE_URL",
    "JOB_LEASE_S",
    "WORKER_MEMORY_MB",
)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    settings = load_settings({"DATA_DIR": str(folder), "APP_ENV": "test"}, dotenv=False)
    upgrade(settings)
    return folder / "pixora.db"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite_template: Path) -> Iterator[Path]:
    """A fresh data folder and settings for each test; the real model weights are shared read-only."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(migrated_sqlite_template, data_dir / "pixora.db")
    for key in CLEARED:
        monkeypatch.delenv(key, raising=False)
    for key, value in BASE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("MODELS_DIR", str(MODELS_DIR))
    monkeypatch.chdir(tmp_path)  # nothing may be written to the checkout
    reset_settings()
    yield data_dir
    reset_settings()


@pytest.fixture(autouse=True)
async def fresh_engine() -> AsyncIterator[None]:
    await dispose_engine()
    yield
    await dispose_engine()


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """One schema per test run on the real PostgreSQL, migrated with Alembic, dropped at the end."""
    schema = f"pixora_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    upgrade(load_settings({"DATABASE_URL": url, "APP_ENV": "test", "DATA_DIR": "/tmp"}, dotenv=False))
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def use_postgres(pg_schema_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the app at the PostgreSQL schema, with every table emptied first."""
    engine = create_engine(pg_schema_url)
    with engine.begin() as connection:
        names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", pg_schema_url)
    reset_settings()
    yield pg_schema_url
    reset_settings()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both databases."""
    if request.param == "postgres":
        request.getfixturevalue("use_postgres")
    return str(request.param)


# NiceGUI's simulated user looks for an element 3 times, 0.1 s apart. On a busy 2-core machine a
# page (sign-in, then the studio) can take seconds to render, so every `should_see` here waits for
# its element up to SHOULD_SEE_TIMEOUT_S: a condition, never a guessed pause. A test that expects an
# element to stay away uses `should_not_see`, which is left as it is.
SHOULD_SEE_TIMEOUT_S = 20.0


@pytest.fixture(autouse=True, scope="session")
def _patient_should_see() -> Iterator[None]:
    original = User.should_see

    async def should_see(self: User, *args: object, retries: int = 3, **kwargs: object) -> None:
        deadline = time.monotonic() + max(retries * 0.1, SHOULD_SEE_TIMEOUT_S)
        while True:
            try:  # one look, then NiceGUI's own 0.1 s pause before it gives up
                await original(self, *args, retries=1, **kwargs)  # type: ignore[arg-type]
                return
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise

    User.should_see = should_see  # type: ignore[method-assign]
    yield
    User.should_see = original  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that has an app serving (`tests/app_server.serve_app`) shows the app's side too."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        for path in list(RUNNING_LOGS):
            report.sections.append((f"the app's log {path} (the end)", log_tail(path)))
