"""kill -9 while a run waits for approval; a new process resumes it; approving completes it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from core.db import sqlalchemy_url
from core.models import ApprovalRow, LlmCallRow, RunRow, ToolCallRow
from sandbox.model.server import start_model_server
from tests.support import COUNTER_TURN, counter_workspace, next_ts, scripted

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.e2e.turn_process", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


async def _wait_for_pending_approval(url: str, timeout_s: float = 30) -> None:
    engine = create_engine(sqlalchemy_url(url))
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    status = connection.execute(select(ApprovalRow.status)).scalar()
            except OperationalError:  # the process has not migrated the schema yet
                status = None
            if status == "pending":
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no approval became pending")
    finally:
        engine.dispose()


async def test_kill_9_while_waiting_then_restart_and_approve(
    database_url: str, tmp_path: Path
) -> None:
    workspace = counter_workspace(tmp_path)
    server = await start_model_server(scripted([COUNTER_TURN]))
    args = ["--db", database_url, "--workspace", str(workspace), "--model-url", server.url,
            "--ts", next_ts()]  # fmt: skip
    try:
        first = await _spawn(*args)
        await _wait_for_pending_approval(database_url)
        served_before_kill = server.state.served
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert first.returncode == -signal.SIGKILL

        second = await _spawn(*args, "--approve")
        output, _ = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 0, output.decode()
        assert "outcome succeeded" in output.decode()
    finally:
        await server.stop()

    assert served_before_kill == 2  # the router and the coding agent's first call
    assert server.state.served == 3, "no model call before the wait was repeated"
    assert (workspace / "counter.txt").read_text() == "ran\n"
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        runs = connection.execute(select(RunRow.status)).scalars().all()
        calls = connection.execute(select(ToolCallRow.status)).scalars().all()
        llm_steps = connection.execute(select(LlmCallRow.step_id)).scalars().all()
        decided_by = connection.execute(select(ApprovalRow.decided_by)).scalars().all()
    engine.dispose()
    assert runs == ["succeeded"]
    assert calls == ["ok"]
    assert len(llm_steps) == len(set(llm_steps)) == 3
    assert decided_by == ["U_AFTER_RESTART"]
