"""Shared test helpers: scenario workspaces, settings, and a launched engine."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from agents import service
from agents.engine import Engine
from agents.publisher import RecordingPublisher
from core.db import sqlalchemy_url
from core.settings import Settings, load_settings
from core.types import IncomingMessage, ThreadRef
from sandbox.model.scenario import SCENARIOS_DIR


def copy_scenario(name: str, destination: Path) -> Path:
    """Copy a bundled scenario's workspace and logs; the workspace becomes a git repository."""
    source = SCENARIOS_DIR / name
    workspace = destination / "workspace"
    shutil.copytree(source / "workspace", workspace)
    if (source / "logs").is_dir():
        shutil.copytree(source / "logs", workspace / "logs")
    git = ["git", "-c", "user.name=opsbot-test", "-c", "user.email=test@opsbot.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=workspace, check=True)
    subprocess.run([*git, "add", "-A"], cwd=workspace, check=True)
    subprocess.run([*git, "commit", "-qm", "release 4.2.0"], cwd=workspace, check=True)
    return workspace


def postgres_url() -> str | None:
    """The PostgreSQL URL of the optional database variant, or None when it is off.

    Under pytest-xdist each worker gets a database of its own (`<database>_<worker>`, created on
    first use): two bot processes on one database would share DBOS's queue and take each
    other's runs.
    """
    base = os.environ.get("OPSBOT_TEST_DATABASE_URL") or None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if base is None or not worker:
        return base
    return worker_database(base, worker)


_created: dict[str, str] = {}


def worker_database(base: str, worker: str) -> str:
    """The URL of `base`'s sibling database for one xdist worker, created if it is missing."""
    if base in _created:
        return _created[base]
    url = make_url(base)
    name = f"{url.database}_{worker}"
    admin = create_engine(sqlalchemy_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _created[base] = url.set(database=name).render_as_string(hide_password=False)
    return _created[base]


def worker_suffix() -> str:
    """`_gw0` under pytest-xdist worker gw0, else empty: for names that must differ per worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"_{worker}" if worker else ""


def reset_postgres(url: str) -> None:
    """Empty opsbot's tables and DBOS's system tables on a shared PostgreSQL database."""
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        existing = {
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        }
        tables = sorted(
            t for t in existing if t.startswith("opsbot_") and t != "opsbot_schema_version"
        )
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        has_dbos = connection.execute(
            text("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'dbos'")
        ).first()
        if has_dbos:
            dbos_tables = [
                row[0]
                for row in connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'dbos'")
                )
                if row[0] not in ("dbos_migrations",)
            ]
            if dbos_tables:
                joined = ", ".join(f"dbos.{t}" for t in dbos_tables)
                connection.execute(text(f"TRUNCATE {joined} CASCADE"))
    engine.dispose()


def make_settings(database_url: str, workspace: Path, model_url: str, **extra: Any) -> Settings:
    """Settings for a test: fast polling, fast retries, the scenario's logs."""
    values: dict[str, Any] = {
        "_env_file": None,
        "database_url": database_url,
        "anthropic_api_key": "sk-test-not-a-real-key",
        "anthropic_base_url": model_url,
        "workspace": workspace,
        "log_sources": ["logs/*.log"],
        "poll_interval_s": 0.05,
        "model_retry_interval_s": 0.01,
        "executor_id": "local",
    }
    values.update(extra)
    return load_settings(**values)


@asynccontextmanager
async def launched(
    settings: Settings, publisher: RecordingPublisher | None = None, span_exporter: Any = None,
    metric_reader: Any = None,
) -> AsyncIterator[Engine]:  # fmt: skip
    """A launched engine for the duration of the block."""
    engine = await service.launch(
        settings, publisher or RecordingPublisher(), span_exporter, metric_reader
    )
    try:
        yield engine
    finally:
        await service.stop()


@asynccontextmanager
async def slow_model(scenario: str = "checkout-500", latency_ms: int = 1500) -> AsyncIterator[Any]:
    """The scripted model server replaying `scenario`, each answer `latency_ms` late (time to
    Stop or cancel a run while a model call is under way); a RunningModelServer."""
    from sandbox.model.scenario import load_scenario
    from sandbox.model.server import start_model_server

    loaded = load_scenario(scenario)
    server = await start_model_server(
        loaded.__class__(**{**loaded.__dict__, "latency_ms": latency_ms})
    )
    try:
        yield server
    finally:
        await server.stop()


_sequence = itertools.count(1)


def next_ts() -> str:
    """A Slack-like message timestamp, greater than every earlier one of this process."""
    return f"{int(time.time()):010d}.{next(_sequence) % 10**6:06d}"


def thread_and_message(text_: str, *, thread_ts: str | None = None, ts: str | None = None,
                       user: str = "U_ONCALL") -> tuple[ThreadRef, IncomingMessage]:  # fmt: skip
    """A fresh thread (unless `thread_ts` is given) and a message in it.

    Timestamps grow like Slack's (fixed width, increasing), which is the order DBOS dequeues
    one thread's messages in when they are enqueued within the same millisecond.
    """
    ts = ts or next_ts()
    thread = ThreadRef(team="T_TEST", channel="C_INCIDENTS", thread_ts=thread_ts or ts)
    return thread, IncomingMessage(ts=ts, text=text_, user=user)


def scripted(turns: list[dict[str, Any]], **timing: Any) -> Any:
    """An inline scenario (same format as script.yaml)."""
    from sandbox.model.scenario import parse_scenario

    return parse_scenario({"name": "inline", "turns": turns, **timing})


def counter_workspace(root: Path) -> Path:
    """A workspace whose `count.py` appends one line to counter.txt per execution."""
    workspace = root / "counter-ws"
    (workspace / "logs").mkdir(parents=True)
    (workspace / "logs" / "app.log").write_text("2026-11-24T14:00:00Z ERROR boom\n")
    (workspace / "count.py").write_text(
        "with open('counter.txt', 'a') as f:\n    f.write('ran\\n')\nprint('counted')\n"
    )
    return workspace


COUNTER_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "coding", "reason": "run the counter"}],
    "coding": [
        {"text": "Running the counter.", "tool_calls": [
            {"name": "shell_execute", "input": {"command": "python3 count.py"}}]},
        {"text": "The counter ran."},
    ],
}  # fmt: skip


class Listener:
    """A TCP server on 127.0.0.1 (ephemeral port) that records every connection."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(0.5)
                data = b""
                with contextlib.suppress(OSError):
                    data = conn.recv(4096)
                self.connections.append(data or b"<connected>")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def system_text(body: dict[str, Any]) -> str:
    """The system prompt of a Messages API request body as one text: a string as is, text
    blocks joined (a call with prompt caching sends its system prompt as a marked block)."""
    system = body.get("system")
    if isinstance(system, list):
        return "".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    return str(system or "")


def content_text(content: Any) -> str:
    """A message's content as one text: a string as is, text blocks joined (a call with
    prompt caching sends its newest messages as marked blocks)."""
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")
