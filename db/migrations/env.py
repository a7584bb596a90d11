"""Alembic environment: runs migrations with a synchronous connection built from the settings."""

from __future__ import annotations

from alembic import context

from db.models import Base
from db.session import make_sync_engine
from pixora_ui.settings import Settings, get_settings

config = context.config
settings: Settings = config.attributes.get("settings") or get_settings()
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=settings.is_sqlite,  # SQLite needs table rebuilds for ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = make_sync_engine(settings)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()
