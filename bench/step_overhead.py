"""What durability costs per step: a workflow of N no-op steps vs the same awaits without DBOS.

Run: `make bench` (or `python -m bench --steps 50 --rounds 20`). Set OPSBOT_BENCH_DATABASE_URL
to a PostgreSQL URL to measure it there too.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID

from core.db import make_engine, plain_url


async def _noop(i: int) -> int:
    return i


@DBOS.workflow(name="bench_steps")
async def _steps_workflow(count: int) -> int:
    total = 0
    for i in range(count):
        total += await DBOS.run_step_async({"name": "noop"}, _noop, i)
    return total


async def _plain(count: int) -> int:
    total = 0
    for i in range(count):
        total += await _noop(i)
    return total


async def measure(database_url: str, steps: int, rounds: int) -> dict[str, Any]:
    """Median time per round of `steps` steps, durable and plain, and their ratio."""
    make_engine(database_url).dispose()  # WAL is switched on by the first connection
    DBOS(config={"name": "opsbot-bench", "system_database_url": plain_url(database_url),
                 "application_version": "bench", "log_level": "WARNING"})  # fmt: skip
    DBOS.launch()
    try:
        durable, plain = [], []
        for round_ in range(rounds):
            started = time.perf_counter()
            with SetWorkflowID(f"bench-{time.time_ns()}-{round_}"):
                await _steps_workflow(steps)
            durable.append(time.perf_counter() - started)
            started = time.perf_counter()
            await _plain(steps)
            plain.append(time.perf_counter() - started)
    finally:
        DBOS.destroy(destroy_registry=False)
    durable_ms = statistics.median(durable) * 1000
    plain_ms = statistics.median(plain) * 1000
    return {
        "database": database_url.split(":", 1)[0],
        "steps": steps,
        "rounds": rounds,
        "durable_ms": round(durable_ms, 2),
        "plain_ms": round(plain_ms, 4),
        "per_step_overhead_ms": round((durable_ms - plain_ms) / steps, 3),
    }


async def run(steps: int, rounds: int, postgres_url: str | None) -> list[dict[str, Any]]:
    """Measure on a fresh SQLite file, and on PostgreSQL when a URL is given."""
    results = []
    with tempfile.TemporaryDirectory() as directory:
        results.append(
            await measure(f"sqlite:///{Path(directory) / 'bench.sqlite'}", steps, rounds)
        )
    if postgres_url:
        results.append(await measure(postgres_url, steps, rounds))
    return results


def table(results: list[dict[str, Any]]) -> str:
    """The results as a text table."""
    lines = [f"{'database':<12}{'steps':>7}{'durable ms':>12}{'plain ms':>10}{'ms/step':>9}"]
    for r in results:
        lines.append(
            f"{r['database']:<12}{r['steps']:>7}{r['durable_ms']:>12.1f}{r['plain_ms']:>10.3f}"
            f"{r['per_step_overhead_ms']:>9.2f}"
        )
    return "\n".join(lines)


def main(steps: int, rounds: int, postgres_url: str | None) -> list[dict[str, Any]]:
    """Run, print, return."""
    results = asyncio.run(run(steps, rounds, postgres_url))
    print("step overhead: a workflow of no-op DBOS steps vs the same awaits without DBOS")
    print(table(results))
    return results
