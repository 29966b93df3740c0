"""The requester's own team is durable: migration 0007 adds it (nullable: runs recorded before
it have none), a run records it from its input, and an input pickled by DBOS before the field
existed still starts a run (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import pickle

import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from agents import history
from core import migrate
from core.db import Database, make_engine
from core.models import RunRow
from core.types import IncomingMessage, ThreadRef

THREAD = ThreadRef(team="T0HOME", channel="C0SHARED", thread_ts="1700000000.000100")


def _to(engine: sa.Engine, revision: str, down: bool = False) -> None:
    config = migrate._alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("opsbot_runs")}


def test_0007_adds_a_nullable_requester_team_and_keeps_earlier_runs(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        _to(engine, "0006", down=True)
        assert "requester_team" not in _columns(engine)
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO opsbot_threads (id, team, channel, thread_ts, created_at, updated_at,"
                " total_tokens, total_cost_usd) VALUES (:id, 'T0HOME', 'C0SHARED', :ts, 1, 1, 0, 0)"
            ), {"id": THREAD.key, "ts": THREAD.thread_ts})  # fmt: skip
            connection.execute(sa.text(
                "INSERT INTO opsbot_runs (id, thread_id, message_ts, requester, status, agents,"
                " started_at, input_tokens, output_tokens, cost_usd, llm_calls, tool_calls)"
                " VALUES ('old-run', :thread, :ts, 'U0PARTNER', 'waiting_approval', '[]', 1,"
                " 0, 0, 0, 0, 0)"
            ), {"thread": THREAD.key, "ts": THREAD.thread_ts})  # fmt: skip
        migrate.upgrade(engine)
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        with Session(engine) as session:
            old = session.get(RunRow, "old-run")
            assert old is not None
            assert (old.requester, old.requester_team) == ("U0PARTNER", None)
    finally:
        engine.dispose()


def _old_input(ts: str) -> IncomingMessage:
    """A workflow input as DBOS pickled it before `user_team` existed."""
    state = IncomingMessage(ts=ts, text="run it", user="U0PARTNER").__getstate__()
    state["__dict__"].pop("user_team")
    state["__pydantic_fields_set__"].discard("user_team")
    revived = IncomingMessage.__new__(IncomingMessage)
    revived.__setstate__(state)
    loaded: IncomingMessage = pickle.loads(pickle.dumps(revived))
    assert "user_team" not in loaded.__dict__
    return loaded


def test_a_run_records_its_requesters_team(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    database = Database(engine)
    inputs = {
        "1700000001.000100": IncomingMessage(ts="1700000001.000100", text="x", user="U0PARTNER",
                                             user_team="T0PARTNER"),
        "1700000001.000200": IncomingMessage(ts="1700000001.000200", text="x", user="U0ONCALL",
                                             user_team="T0HOME"),
        "1700000001.000300": IncomingMessage(ts="1700000001.000300", text="x", user="U0ONCALL"),
        "1700000001.000400": _old_input("1700000001.000400"),
    }  # fmt: skip
    try:
        for message in inputs.values():
            run_id = message.run_id(THREAD)
            database.transact(lambda s, r=run_id, m=message: history.begin_turn(s, r, THREAD, m,
                                                                                1.0))  # fmt: skip
        with Session(engine) as session:
            teams = {r.message_ts: r.requester_team for r in session.scalars(sa.select(RunRow))}
    finally:
        engine.dispose()
    assert teams == {"1700000001.000100": "T0PARTNER", "1700000001.000200": "T0HOME",
                     "1700000001.000300": None, "1700000001.000400": None}  # fmt: skip
