"""Recovery: 100 runs in flight, the worker killed with SIGKILL, then started again.

Measured from outside through the database: from the restart until every interrupted run has
made progress again (a step started after the restart), and until every run has finished.
The runs are the checkout-500 investigation against the scripted model (its own process,
300 ms latency, 50 tokens/s), so each is a few seconds long and all are mid-way at the kill.

`python -m bench.recovery worker DB_URL MODEL_URL WORKDIR COUNT` is the worker: it launches the
engine (recovering this executor's runs), starts COUNT runs when COUNT > 0, and then serves.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from agents import service
from bench.harness import (
    ROOT,
    FinishPublisher,
    engine_settings,
    incident_workspace,
    new_message,
    on_each_database,
    reset_database,
    start_model_process,
    table,
)
from core.db import sqlalchemy_url

KILL_AFTER_S = 2.0


async def worker(url: str, model_url: str, workdir: Path, count: int) -> None:
    """Launch (recovering what this executor left), start `count` runs, serve until killed."""
    workspace = workdir / "workspace"
    if not workspace.exists():
        incident_workspace("checkout-500", workdir)
    await service.launch(engine_settings(url, workspace, model_url), FinishPublisher())
    for _ in range(count):
        thread, message = new_message("checkout is returning 500s")
        await service.start_turn(thread, message)
    print("started", flush=True)
    await asyncio.Event().wait()


def _counts(url: str, since_ms: int) -> tuple[int, int, int]:
    """(runs, runs with a step started after `since_ms`, runs finished) of the benchmark."""
    schema = "dbos." if url.startswith("postgresql") else ""
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            runs, done = connection.execute(text(
                f"SELECT count(*), sum(CASE WHEN status = 'SUCCESS' THEN 1 ELSE 0 END) "
                f"FROM {schema}workflow_status WHERE name = 'run_thread_turn'"
            )).one()  # fmt: skip
            moving = connection.execute(text(
                f"SELECT count(DISTINCT workflow_uuid) FROM {schema}operation_outputs "
                f"WHERE started_at_epoch_ms > :since"
            ), {"since": since_ms}).scalar_one()  # fmt: skip
    finally:
        engine.dispose()
    return int(runs or 0), int(moving or 0), int(done or 0)


async def _spawn(url: str, model_url: str, workdir: Path, count: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.recovery", "worker", url, model_url, str(workdir),
        str(count), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 300)
    assert line.strip() == b"started", line
    return process


async def measure(label: str, url: str, workdir: Path, count: int) -> dict[str, Any]:
    """Start, kill -9 mid-flight, restart; time the recovery."""
    reset_database(url)
    model_url, model = await start_model_process(300, 50)
    try:
        first = await _spawn(url, model_url, workdir, count)
        await asyncio.sleep(KILL_AFTER_S)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        runs, _, done_before = await asyncio.to_thread(_counts, url, 0)
        restarted = time.time()
        second = await _spawn(url, model_url, workdir, 0)
        moving_at = finished_at = None
        while finished_at is None and time.time() - restarted < 600:
            _, moving, done = await asyncio.to_thread(_counts, url, int(restarted * 1000))
            now = time.time() - restarted
            if moving_at is None and moving >= runs - done_before:
                moving_at = now
            if done >= runs:
                finished_at = now
            await asyncio.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        await second.wait()
    finally:
        model.terminate()
        await model.wait()
    return {
        "database": label, "runs": runs, "finished_before_kill": done_before,
        "all_moving_s": round(moving_at or -1, 2), "all_done_s": round(finished_at or -1, 2),
    }  # fmt: skip


def run(smoke: bool) -> list[dict[str, Any]]:
    """Every configured database."""
    return on_each_database(lambda label, url, work: measure(label, url, work, 5 if smoke else 100))


def report(results: list[dict[str, Any]]) -> str:
    """Seconds from the restart."""
    rows = [[r["database"], r["runs"], r["finished_before_kill"], r["all_moving_s"],
             r["all_done_s"]] for r in results]  # fmt: skip
    return table(["database", "runs", "done before kill", "all moving again s", "all done s"],
                 rows)  # fmt: skip


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    asyncio.run(worker(sys.argv[2], sys.argv[3], Path(sys.argv[4]), int(sys.argv[5])))
