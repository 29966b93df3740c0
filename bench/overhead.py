"""What durability costs a whole run: the same agent loop with and without DBOS, in one run.

The bundled checkout-500 investigation (log analyzer: 6 model calls, 2 tools, no approvals)
against a zero-latency scripted model, three ways:
  durable, queued   `start_turn` until the run publishes its end: a Slack mention's path
  durable, direct   the workflow called directly (checkpointing, no queue hand-off)
  plain             the workflow's body with every step a plain call (nothing persisted)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID

from agents import service
from agents.engine import Engine
from agents.events import RunFinished
from agents.publisher import RecordingPublisher
from agents.workflow import Turn, run_thread_turn
from bench.harness import (
    engine_settings,
    incident_workspace,
    investigation_only,
    new_message,
    on_each_database,
    reset_database,
    table,
)
from core.types import IncomingMessage, ThreadRef
from sandbox.model.server import start_model_server


async def plain_turn(
    engine: Engine, run_id: str, thread: ThreadRef, message: IncomingMessage
) -> str:
    """`run_thread_turn`'s body outside a workflow: DBOS runs each step as a plain call."""
    start = await engine.begin_turn(run_id, thread, message)
    summary = await Turn(engine, run_id, thread, message, start).run()
    await engine.finish_turn(run_id, thread, message, summary)
    return summary.outcome


async def _timed(work: Any) -> float:
    started = time.perf_counter()
    outcome = await work
    assert outcome == "succeeded", outcome
    return (time.perf_counter() - started) * 1000


async def _queued(publisher: RecordingPublisher) -> float:
    """Enqueue a run as the Slack listener does; ms until it publishes its end."""
    thread, message = new_message("checkout is returning 500s")
    started = time.perf_counter()
    handle = await service.start_turn(thread, message)
    finished = await publisher.wait_for(RunFinished, message.run_id(thread))
    elapsed = (time.perf_counter() - started) * 1000
    assert finished[0].outcome == "succeeded", finished
    await handle.get_result()  # the workflow's own last write, before the next round
    return elapsed


async def measure(label: str, url: str, directory: Path, rounds: int) -> dict[str, Any]:
    """Median ms per run for each way, the step count, ratios and the cost per step."""
    reset_database(url)
    server = await start_model_server(investigation_only())
    settings = engine_settings(url, incident_workspace("checkout-500", directory), server.url)
    publisher = RecordingPublisher()
    engine = await service.launch(settings, publisher)
    times: dict[str, list[float]] = {"queued": [], "direct": [], "plain": []}
    steps = 0
    try:
        for _ in range(rounds + 1):  # the first round warms caches and is not counted
            queued = await _queued(publisher)
            thread, message = new_message("checkout is returning 500s")
            with SetWorkflowID(message.run_id(thread)):
                direct = await _timed(run_thread_turn(thread, message))
            steps = len(await DBOS.list_workflow_steps_async(message.run_id(thread)))
            thread, message = new_message("checkout is returning 500s")
            plain = await _timed(plain_turn(engine, message.run_id(thread), thread, message))
            for key, value in (("queued", queued), ("direct", direct), ("plain", plain)):
                times[key].append(value)
    finally:
        await service.stop()
        await server.stop()
    median = {k: statistics.median(v[1:]) for k, v in times.items()}
    return {
        "database": label, "rounds": rounds, "steps": steps,
        "queued_ms": round(median["queued"], 1), "direct_ms": round(median["direct"], 1),
        "plain_ms": round(median["plain"], 1),
        "ratio_direct": round(median["direct"] / median["plain"], 2),
        "ratio_queued": round(median["queued"] / median["plain"], 2),
        "per_step_ms": round((median["direct"] - median["plain"]) / max(steps, 1), 2),
    }  # fmt: skip


def run(smoke: bool) -> list[dict[str, Any]]:
    """Every configured database."""
    return on_each_database(lambda label, url, work: measure(label, url, work, 2 if smoke else 15))


def report(results: list[dict[str, Any]]) -> str:
    """The comparison as a table (target: durable direct at most 1.5x plain)."""
    rows = [[r["database"], r["steps"], r["plain_ms"], r["direct_ms"], r["queued_ms"],
             f"{r['ratio_direct']}x", f"{r['ratio_queued']}x", r["per_step_ms"]]
            for r in results]  # fmt: skip
    headers = ["database", "steps", "plain ms", "durable ms", "queued ms", "durable/plain",
               "queued/plain", "ms/step"]  # fmt: skip
    return table(headers, rows)
