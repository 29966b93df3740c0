"""Concurrency: up to 200 incident threads at once on one worker, against the critical path.

The engine runs in this process on its queue (`threads`, partitioned by thread) with the
scripted model in its own process (as a model API would be) at 300 ms latency and 50 tokens/s.
Every thread is the checkout-500 investigation: 6 model calls, 2 tools, 10 durable steps. The
ideal is one run alone (the model's own time plus the steps); the ratio says what sharing one
worker costs (target: at most 1.3x at 200 threads). The sweep over thread counts is the chart.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agents import service
from bench.harness import (
    FinishPublisher,
    engine_settings,
    incident_workspace,
    new_message,
    on_each_database,
    percentiles,
    reset_database,
    start_model_process,
    table,
)


async def _threads(publisher: FinishPublisher, count: int) -> tuple[float, list[float]]:
    """Start `count` threads at once; seconds until all finished, and each one's seconds."""
    started = time.perf_counter()
    messages = [new_message("checkout is returning 500s") for _ in range(count)]
    handles = [await service.start_turn(thread, message) for thread, message in messages]
    finished = [await publisher.finished(message.run_id(thread)) for thread, message in messages]
    elapsed = time.perf_counter() - started
    assert {event.outcome for event in finished} == {"succeeded"}, finished
    for handle in handles:
        await handle.get_result()
    return elapsed, [event.duration_s for event in finished]


async def measure(label: str, url: str, directory: Path, counts: list[int]) -> list[dict[str, Any]]:
    """One thread alone, then each of `counts` threads at once."""
    reset_database(url)
    model_url, model = await start_model_process(latency_ms=300, tokens_per_second=50)
    settings = engine_settings(url, incident_workspace("checkout-500", directory), model_url)
    publisher = FinishPublisher()
    await service.launch(settings, publisher)
    try:
        await _threads(publisher, 1)  # warm-up: imports, connections, caches
        alone, _ = await _threads(publisher, 1)
        results = []
        for count in counts:
            cpu = time.process_time()
            together, each = await _threads(publisher, count)
            cpu_per_run_ms = (time.process_time() - cpu) / count * 1000
            durations = percentiles([d * 1000 for d in each])
            results.append({
                "database": label, "threads": count, "alone_s": round(alone, 2),
                "all_done_s": round(together, 2), "ratio": round(together / alone, 2),
                "run_p50_s": round(durations["p50"] / 1000, 2),
                "run_p99_s": round(durations["p99"] / 1000, 2),
                "cpu_per_run_ms": round(cpu_per_run_ms, 1),
            })  # fmt: skip
    finally:
        await service.stop()
        model.terminate()
        await model.wait()
    return results


def run(smoke: bool) -> list[dict[str, Any]]:
    """Every configured database: a sweep of thread counts on each."""
    counts = [5] if smoke else [25, 50, 100, 200]
    per_database = on_each_database(lambda label, url, work: measure(label, url, work, counts))
    return [row for rows in per_database for row in rows]


def report(results: list[dict[str, Any]]) -> str:
    """All threads done vs one alone (target: at most 1.3x)."""
    rows = [[r["database"], r["threads"], r["alone_s"], r["all_done_s"], f"{r['ratio']}x",
             r["run_p50_s"], r["run_p99_s"], r["cpu_per_run_ms"]] for r in results]  # fmt: skip
    return table(["database", "threads", "alone s", "all done s", "ratio", "run p50 s",
                  "run p99 s", "CPU ms/run"], rows)  # fmt: skip
