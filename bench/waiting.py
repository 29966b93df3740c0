"""Waiting: many runs paused on approval in one worker process, then all approved.

The worker (`bench.waiting_worker`, its own process) starts COUNT runs that each pause on an
approval of one command. Measured from outside through /proc: memory (RSS) and threads before
and while they wait, CPU used while nothing happens (idle), then the time to drain them all
once approved. Targets on PostgreSQL: under 200 MB RSS growth for 10,000 runs, at most 64
threads, under 5 % of a core idle.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT, on_each_database, reset_database, start_model_process, table

IDLE_S = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def sample(pid: int) -> dict[str, float]:
    """RSS (MB), threads and CPU seconds used so far, of one process."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {line.split(":")[0]: line.split(":")[1].split() for line in status if ":" in line}
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / TICKS  # utime + stime
    return {"rss_mb": int(fields["VmRSS"][0]) / 1024, "threads": int(fields["Threads"][0]),
            "cpu_s": cpu}  # fmt: skip


async def _say(worker: asyncio.subprocess.Process, command: str, expect: str) -> float:
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write(f"{command}\n".encode())
    await worker.stdin.drain()
    while True:
        line = (await worker.stdout.readline()).decode().strip()
        if not line:
            raise RuntimeError(f"the worker stopped while waiting for {expect!r}")
        if line.startswith(expect):
            return float(line.split()[1]) if " " in line else 0.0


async def measure(
    label: str, url: str, directory: Path, count: int, idle_s: float = IDLE_S
) -> dict[str, Any]:
    """Pause `count` runs, watch the idle worker for `idle_s`, approve them all."""
    reset_database(url)
    model_url, model = await start_model_process(0, 0, "one-command")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.waiting_worker", url, model_url, str(directory), str(count),
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await _say(worker, "", "ready")
        before = sample(worker.pid)
        paused_s = await _say(worker, "start", "paused")
        await asyncio.sleep(2)
        waiting = sample(worker.pid)
        await asyncio.sleep(idle_s)
        idle = sample(worker.pid)
        drained_s = await _say(worker, "approve", "drained")
        assert worker.stdin is not None
        worker.stdin.write(b"stop\n")
        await worker.stdin.drain()
        await asyncio.wait_for(worker.wait(), 120)
    finally:
        if worker.returncode is None:
            worker.kill()
        await worker.wait()
        model.terminate()
        await model.wait()
    return {
        "database": label, "runs": count, "pause_all_s": round(paused_s, 1),
        "rss_before_mb": round(before["rss_mb"], 1), "rss_waiting_mb": round(waiting["rss_mb"], 1),
        "rss_growth_mb": round(waiting["rss_mb"] - before["rss_mb"], 1),
        "kb_per_run": round((waiting["rss_mb"] - before["rss_mb"]) * 1024 / count, 1),
        "threads": int(waiting["threads"]),
        "idle_cpu_pct": round(100 * (idle["cpu_s"] - waiting["cpu_s"]) / idle_s, 2),
        "drain_s": round(drained_s, 1),
    }  # fmt: skip


def run(smoke: bool) -> list[dict[str, Any]]:
    """Every configured database: 10,000 runs on PostgreSQL, 2,000 on SQLite by default
    (OPSBOT_BENCH_WAITING_POSTGRESQL / _SQLITE change them)."""

    async def one(label: str, url: str, work: Path) -> dict[str, Any]:
        default = "10000" if label == "postgresql" else "2000"
        count = int(os.environ.get(f"OPSBOT_BENCH_WAITING_{label.upper()}", default))
        started = time.monotonic()
        result = await measure(label, url, work, 20 if smoke else count,
                               2.0 if smoke else IDLE_S)  # fmt: skip
        print(f"  waiting on {label}: {time.monotonic() - started:.0f} s: {result}",
              file=sys.stderr, flush=True)  # fmt: skip
        return result

    return on_each_database(one)


def report(results: list[dict[str, Any]]) -> str:
    """Targets (PostgreSQL): < 200 MB growth, <= 64 threads, < 5 % of a core idle."""
    rows = [[r["database"], r["runs"], r["pause_all_s"], r["rss_growth_mb"], r["kb_per_run"],
             r["threads"], r["idle_cpu_pct"], r["drain_s"]] for r in results]  # fmt: skip
    return table(["database", "runs", "pause all s", "RSS growth MB", "KB/run", "threads",
                  "idle CPU %", "drain s"], rows)  # fmt: skip
