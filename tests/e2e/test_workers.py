"""Several workers on one PostgreSQL share the threads queue; a killed worker's runs come back;
a database restart pauses runs instead of failing them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from bot.listeners import messages
from core.db import sqlalchemy_url
from core.models import MessageRow, RunRow
from sandbox.model.server import start_model_server
from sandbox.slack.app import start_slack
from sandbox.slack.server import SandboxConfig
from tests.e2e.test_crash_matrix import final, serve
from tests.slackbot import CHANNEL, running_bot, thread, wait_for
from tests.support import postgres_url, reset_postgres, scripted

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.serial,  # restarts the PostgreSQL server every other test uses
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        postgres_url() is None, reason="needs OPSBOT_TEST_DATABASE_URL (CI sets it)"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
ANSWER = [{"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
           "log_analyzer": [{"text": "Checked the logs for this step."}]}]  # fmt: skip


@pytest.fixture
def pg(tmp_path: Path) -> str:
    url = postgres_url()
    assert url is not None
    reset_postgres(url)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("2026-11-24T14:00:00Z INFO ok\n")
    return url


async def test_two_workers_share_the_queue_and_survive_a_killed_worker(
    pg: str, tmp_path: Path
) -> None:
    slack = await start_slack(SandboxConfig(rate_limits=False))
    model = await start_model_server(scripted(ANSWER, latency_ms=100))
    workers: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name in ("worker-0", "worker-1"):
            # The workspace enforces no limits here, so the bots' own Slack pacing is lifted too:
            # 60 answers streamed at Tier 2's 20 a minute would outlast the waits below.
            workers[name] = await serve(slack, model, tmp_path, pg, None, executor=name,
                                        rate_scale=20)  # fmt: skip
        sandbox = slack.sandbox
        roots = [
            await sandbox.post_as("U0ONCALL", CHANNEL, f"<@U0BOT> thread {n} step 1")
            for n in range(20)
        ]
        # Both replies of a thread at once, as when two people answer together: the two posts
        # reach different workers within milliseconds, and the later one must not run first.
        for n, root in enumerate(roots):
            for step in (2, 3):
                await sandbox.post_as(
                    "U0ONCALL", CHANNEL, f"<@U0BOT> thread {n} step {step}", thread_ts=root.ts
                )
        await wait_for(sandbox, lambda: sum(len(final(sandbox, r.ts)) for r in roots) >= 30, 120)
        workers["worker-1"].send_signal(signal.SIGKILL)
        await workers["worker-1"].wait()
        workers["worker-1"] = await serve(
            slack, model, tmp_path, pg, None, executor="worker-1", rate_scale=20
        )
        await wait_for(sandbox, lambda: all(len(final(sandbox, r.ts)) == 3 for r in roots), 180)
        await asyncio.sleep(1.0)
    finally:
        for process in workers.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
        await model.stop()
        await slack.stop()
    engine = create_engine(sqlalchemy_url(pg))
    with engine.connect() as connection:
        statuses = connection.execute(select(RunRow.status)).scalars().all()
        history = connection.execute(
            select(MessageRow.thread_id, MessageRow.content).where(MessageRow.role == "user")
            .order_by(MessageRow.thread_id, MessageRow.seq)
        ).all()  # fmt: skip
    engine.dispose()
    assert len(statuses) == 60
    assert set(statuses) == {"succeeded"}
    per_thread: dict[str, list[str]] = {}
    for thread_id, content in history:
        per_thread.setdefault(thread_id, []).append(content)
    assert len(per_thread) == 20
    for contents in per_thread.values():
        assert [c.split()[-1] for c in contents] == ["1", "2", "3"], "per-thread order kept"
    for root in roots:
        assert len(final(sandbox, root.ts)) == 3
        assert not any(m["streaming"] for m in thread(sandbox, root.ts))


def shown_text(sandbox: Any, root_ts: str) -> str:
    """Everything the thread shows."""
    return "\n".join(str(m["text"]) for m in thread(sandbox, root_ts))


def restart_postgres(action: str = "restart") -> None:
    """Restart (or stop, or start) the local PostgreSQL cluster; returns once it answers."""
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                   check=True, timeout=120)  # fmt: skip
    if action == "stop":
        return
    for _ in range(60):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0:
            return
        time.sleep(0.5)


@contextlib.asynccontextmanager
async def one_worker(pg: str, tmp_path: Path, latency_ms: float = 0) -> AsyncIterator[Any]:
    """The local workspace, the scripted model and one `opsbot serve` process on `pg`."""
    slack = await start_slack(SandboxConfig())
    model = await start_model_server(scripted(ANSWER, latency_ms=latency_ms))
    worker = await serve(slack, model, tmp_path, pg, None)
    try:
        yield slack.sandbox, model
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 60)
        await model.stop()
        await slack.stop()


async def test_a_database_restart_pauses_a_run_and_it_completes(pg: str, tmp_path: Path) -> None:
    async with one_worker(pg, tmp_path, latency_ms=3000) as (sandbox, model):
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> survive this")
        await wait_for(
            sandbox, lambda: model.state.served >= 0 and len(model.state.requests) >= 1, 30
        )
        await asyncio.to_thread(restart_postgres)
        await wait_for(sandbox, lambda: final(sandbox, root.ts), 120)
    assert "Checked the logs" in shown_text(sandbox, root.ts), "the answer (streamed)"


async def test_a_mention_while_the_database_is_down_runs_once_it_is_back(
    pg: str, tmp_path: Path
) -> None:
    async with one_worker(pg, tmp_path) as (sandbox, _):
        await asyncio.to_thread(restart_postgres, "stop")
        try:
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> during the outage")
            await asyncio.sleep(4)  # Slack has its ack: it will not deliver the mention again
            assert not final(sandbox, root.ts)
        finally:
            await asyncio.to_thread(restart_postgres, "start")
        await wait_for(sandbox, lambda: final(sandbox, root.ts), 120)
    assert "Checked the logs" in shown_text(sandbox, root.ts), "the answer (streamed)"
    assert "eyes" in thread(sandbox, root.ts)[0]["reactions"]


async def test_a_mention_in_a_long_outage_is_announced_and_runs_when_the_database_is_back(
    pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "SLOW_NOTE_AFTER_S", 1.0)  # not 30 s here
    model = await start_model_server(scripted(ANSWER))
    try:
        async with running_bot(pg, tmp_path, model.url) as slack:
            sandbox = slack.sandbox
            await asyncio.to_thread(restart_postgres, "stop")
            try:
                root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> during the outage")
                note = await wait_for(sandbox, lambda: next(
                    (m for m in thread(sandbox, root.ts) if "not answering" in m["text"]),
                    None), 60)  # fmt: skip
                assert not final(sandbox, root.ts)
            finally:
                await asyncio.to_thread(restart_postgres, "start")
            await wait_for(sandbox, lambda: final(sandbox, root.ts), 120)
    finally:
        await model.stop()
    assert "starts by itself when the database is back. Nothing has run." in note["text"]
    assert "Checked the logs" in shown_text(sandbox, root.ts), "the answer (streamed)"


def test_opsbot_workers_lists_runs_by_executor(pg: str, tmp_path: Path) -> None:
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "workers"], cwd=ROOT, capture_output=True, text=True,
        env={**env, "OPSBOT_DATABASE_URL": pg, "OPSBOT_WORKSPACE": str(tmp_path)}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no runs in flight"
