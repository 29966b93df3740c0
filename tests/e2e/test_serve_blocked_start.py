"""`opsbot serve` keeps its stop deadline while synchronous start work blocks the event loop:
here the schema migration waits on a PostgreSQL lock another session holds, which no loop
callback can interrupt. The signal's own handler starts the deadline (`bot.serve`)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from bot.serve import SHUTDOWN_DEADLINE_S
from core import migrate
from core.db import make_engine, sqlalchemy_url
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig
from tests.e2e.serve_process import serve_env, start_serve, stop_with
from tests.support import postgres_url, worker_suffix

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        postgres_url() is None, reason="needs OPSBOT_TEST_DATABASE_URL (CI sets it)"
    ),
]
DATABASE = "opsbot_blocked_start" + worker_suffix()


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig())
    yield running
    await running.stop()


@pytest.fixture
def own_database() -> Iterator[str]:
    """A migrated database of this test's own, so a held lock blocks no other test."""
    base = postgres_url()
    assert base is not None
    admin = create_engine(sqlalchemy_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    url = make_url(base).set(database=DATABASE).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    admin.dispose()


def waiting_on_a_lock(connection: Connection) -> bool:
    """Whether another session of this database waits for a lock (the migration). Ends the
    transaction: PostgreSQL keeps one snapshot of pg_stat_activity per transaction."""
    row = connection.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
             "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"),
        {"db": DATABASE},
    ).scalar_one()  # fmt: skip
    connection.rollback()
    return bool(row)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_ends_serve_by_the_deadline_while_the_migration_waits_on_a_lock(
    slack: RunningSlack, own_database: str, tmp_path: Path, sig: signal.Signals
) -> None:
    holder = create_engine(sqlalchemy_url(own_database))
    with holder.connect() as held:
        held.execute(text("LOCK TABLE opsbot_schema_version IN ACCESS EXCLUSIVE MODE"))
        process = await start_serve(serve_env(slack, tmp_path, OPSBOT_DATABASE_URL=own_database))
        with holder.connect() as watcher:
            for _ in range(300):
                if waiting_on_a_lock(watcher) or process.returncode is not None:
                    break
                await asyncio.sleep(0.1)
            assert waiting_on_a_lock(watcher), "serve never reached the migration"
        ended = await stop_with(process, sig)
        held.rollback()
    holder.dispose()
    assert ended.seconds < SHUTDOWN_DEADLINE_S + 3, ended
    assert ended.code == 1, ended
    assert "stopping took over 8 s" in ended.stderr, ended.stderr
    assert "Traceback" not in ended.stderr
