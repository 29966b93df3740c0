"""Resume latency: an approval click until the approved tool step starts, p50/p99.

A run pauses on approval of one shell command; the bench decides it (the same compare-and-set
and DBOS message a Slack click causes) and times until the run publishes that the tool started.
The database's default notification settings apply: PostgreSQL wakes the run by LISTEN/NOTIFY,
SQLite by polling every OPSBOT_POLL_INTERVAL_S (1 s by default).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from agents import service
from agents.events import ApprovalRequested, ToolStarted
from agents.publisher import RecordingPublisher
from bench.harness import (
    ONE_COMMAND,
    engine_settings,
    new_message,
    on_each_database,
    percentiles,
    reset_database,
    table,
)
from sandbox.model.server import start_model_server


async def measure(label: str, url: str, directory: Path, rounds: int) -> dict[str, Any]:
    """Click → tool started, for `rounds` runs one after the other."""
    reset_database(url)
    server = await start_model_server(ONE_COMMAND)
    workspace = directory / "workspace"
    workspace.mkdir()
    settings = engine_settings(url, workspace, server.url, poll_interval_s=1.0,
                               no_self_approval="none")  # fmt: skip
    publisher = RecordingPublisher()
    await service.launch(settings, publisher)
    latencies: list[float] = []
    try:
        for round_ in range(rounds):
            thread, message = new_message("run the command")
            run_id = message.run_id(thread)
            handle = await service.start_turn(thread, message)
            request = (await publisher.wait_for(ApprovalRequested, run_id))[0]
            await asyncio.sleep(0.3 + (round_ % 5) * 0.13)  # clicks land anywhere in a poll cycle
            clicked = time.perf_counter()
            await service.submit_decision(request.approval_id, True, "U_LEAD")
            await publisher.wait_for(ToolStarted, run_id)
            latencies.append((time.perf_counter() - clicked) * 1000)
            await handle.get_result()
    finally:
        await service.stop()
        await server.stop()
    return {"database": label, **percentiles(latencies)}


def run(smoke: bool) -> list[dict[str, Any]]:
    """Every configured database."""
    return on_each_database(lambda label, url, work: measure(label, url, work, 3 if smoke else 30))


def report(results: list[dict[str, Any]]) -> str:
    """Targets: p50 < 100 ms on PostgreSQL, < 1.1 s on SQLite."""
    rows = [[r["database"], r["n"], r["p50"], r["p90"], r["p99"], r["max"]] for r in results]
    return table(["database", "clicks", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows)
