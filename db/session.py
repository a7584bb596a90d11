"""Engine and session factory (async), with SQLite pragmas and a sized PostgreSQL pool.

SQLite: WAL, foreign keys on and a busy timeout, set on every new connection.
PostgreSQL: a bounded, pre-pinged, recycled pool whose limits are settings. Behind PgBouncer in
transaction mode set DB_PGBOUNCER=true: the pool is then left to PgBouncer (NullPool) and
server-side prepared statements are switched off, since they do not survive connection switching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from pixora_ui.settings import Settings, get_settings

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def engine_options(settings: Settings) -> dict[str, Any]:
    if settings.is_sqlite:
        return {"connect_args": {"timeout": 10}}
    if settings.db_pgbouncer:
        return {"poolclass": NullPool, "connect_args": {"prepare_threshold": None}}
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
        "pool_recycle": settings.db_pool_recycle_s,
        "pool_pre_ping": True,
    }


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (Alembic, CLI)."""
    return url.replace("sqlite+aiosqlite://", "sqlite://", 1)


def make_async_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **engine_options(settings))
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_sync_engine(settings: Settings) -> Engine:
    url = sync_url(settings.effective_database_url)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    options = engine_options(settings)
    engine = create_engine(url, **options)
    if settings.is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine() -> AsyncEngine:
    global _engine, _sessionmaker  # noqa: PLW0603 - one engine per process
    if _engine is None:
        _engine = make_async_engine(get_settings())
        _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    return _engine


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on error."""
    async with get_sessionmaker()() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once this unit of work commits (never when it rolls back).

    How a service that only holds the session says "tell the others" (a job is ready, a cache entry
    is stale) without committing itself: the entry point that opened the session commits.
    """
    event.listen(session.sync_session, "after_commit", lambda _session: callback(), once=True)


async def dispose_engine() -> None:
    """Close every pooled connection (shutdown, and between tests)."""
    global _engine, _sessionmaker  # noqa: PLW0603
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None
