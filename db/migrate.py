"""Run Alembic migrations programmatically (used by `main.py migrate` and at start-up)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db.session import make_sync_engine
from pixora_ui.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an option: ConfigParser would mangle '%' in passwords.
    config.attributes["settings"] = settings
    return config


def current_revision(settings: Settings) -> str | None:
    engine = make_sync_engine(settings)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def upgrade(settings: Settings) -> bool:
    """Upgrade the database to the newest migration. Returns True when something was applied."""
    before = current_revision(settings)
    head = head_revision(settings)
    if before == head:
        return False
    command.upgrade(alembic_config(settings), "head")
    log.info("database migrated", extra={"from_revision": before, "to_revision": head})
    return True
