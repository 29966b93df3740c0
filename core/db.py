"""The database: one SQLAlchemy engine for opsbot's tables, SQLite in WAL mode by default."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")


def sqlalchemy_url(database_url: str) -> str:
    """Return the URL SQLAlchemy should use (PostgreSQL through psycopg 3)."""
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return database_url


def plain_url(database_url: str) -> str:
    """Return the URL without a driver suffix, the form DBOS expects."""
    if database_url.startswith("postgresql+"):
        return "postgresql://" + database_url.split("://", 1)[1]
    return database_url


def _enable_sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    """Create the engine; SQLite connections get WAL, a busy timeout and foreign keys."""
    url = sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _enable_sqlite_wal)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _is_connection_error(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return bool(error.connection_invalidated) or any(
        sign in text
        for sign in ("connection", "server closed", "terminating", "could not connect",
                     "database is locked", "shutting down", "the database system is")
    )  # fmt: skip


class Database:
    """Runs units of work in a transaction, off the event loop when called from async code."""

    def __init__(self, engine: Engine, reconnect_for_s: float = 300.0) -> None:
        self.engine = engine
        self.reconnect_for_s = reconnect_for_s
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def transact(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction; while the database is unreachable, wait and retry.

        Like DBOS's own system-database calls, a lost connection pauses the run instead of
        failing it (units of work here are idempotent).
        """
        delay, waited = 0.5, 0.0
        while True:
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except (OperationalError, InterfaceError) as error:
                if not _is_connection_error(error) or waited >= self.reconnect_for_s:
                    raise
                log.warning("database unreachable (%s); retrying in %.1fs", error.orig, delay)
                time.sleep(delay)
                waited += delay
                delay = min(delay * 2, 10.0)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction on a worker thread."""
        return await asyncio.to_thread(self.transact, work)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
