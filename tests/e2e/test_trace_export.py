"""Spans reach an OTLP/HTTP receiver, and a run killed while waiting keeps one trace id."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from core.telemetry import span_id_for, trace_id_for
from sandbox.model.server import start_model_server
from tests.e2e.test_crash_while_waiting import _wait_for_pending_approval
from tests.otlp import otlp_receiver
from tests.support import COUNTER_TURN, counter_workspace, next_ts, scripted

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def test_spans_before_and_after_a_kill_share_the_runs_trace(
    database_url: str, tmp_path: Path, unused_tcp_port: int
) -> None:
    workspace = counter_workspace(tmp_path)
    model = await start_model_server(scripted([COUNTER_TURN]))
    ts = next_ts()
    args = [
        "--db",
        database_url,
        "--workspace",
        str(workspace),
        "--model-url",
        model.url,
        "--ts",
        ts,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OTEL_BSP_SCHEDULE_DELAY": "50",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{unused_tcp_port}"}  # fmt: skip

    async def spawn(*extra: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.e2e.turn_process", *args, *extra, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip

    try:
        async with otlp_receiver(unused_tcp_port) as received:
            first = await spawn()
            await _wait_for_pending_approval(database_url)
            await asyncio.sleep(0.5)  # the batch exporter sends what finished so far
            before_kill = len(received.spans())
            first.send_signal(signal.SIGKILL)
            await first.wait()
            second = await spawn("--approve")
            output, _ = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 0, output.decode()
    finally:
        await model.stop()

    spans = received.spans()
    run_id = f"T_E2E:C_E2E:{ts}"
    assert before_kill > 0, "spans were exported before the kill"
    assert {int.from_bytes(s.trace_id, "big") for s, _, _ in spans} == {trace_id_for(run_id)}
    names = {s.name for s, _, scope in spans if scope == "opsbot"}
    assert {"route", "run", "approval shell_execute", "execute_tool shell_execute"} <= names
    services = {
        a.value.string_value for _, r, _ in spans for a in r.attributes if a.key == "service.name"
    }
    assert services == {"opsbot"}
    # DBOS's own spans: the workflow span of the process that resumed the run hangs under the
    # run's span, and the approved command's step under it, in the same trace.
    dbos = [s for s, _, scope in spans if scope == "dbos-tracer"]
    workflow = next(s for s in dbos if s.name == "run_thread_turn")
    assert int.from_bytes(workflow.parent_span_id, "big") == span_id_for(run_id, "run")
    tool_exec = next(s for s in dbos if s.name == "tool_exec")
    assert tool_exec.parent_span_id == workflow.span_id
    show = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "runs", "show", run_id, cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")},
             "OPSBOT_DATABASE_URL": database_url, "OPSBOT_WORKSPACE": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(show.communicate(), 60)
    assert show.returncode == 0, err.decode()
    text = out.decode()
    assert f"trace {trace_id_for(run_id):032x}" in text
    assert "turn starts" in text, "steps in words (agents/run_steps.py)"
    assert "approval card posted" in text
    assert "|#" in text
