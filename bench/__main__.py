"""`python -m bench [NAME ...] [--smoke]`: run benchmarks, print tables, write JSON to
bench/results/ and charts to docs/. Set OPSBOT_BENCH_DATABASE_URL to a PostgreSQL URL (a
database of its own: the benchmarks empty it) to measure there too."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from bench import (
    ack,
    alerts,
    charts,
    concurrency,
    confinement,
    cost,
    mcp,
    overhead,
    recovery,
    resume,
    slack_load,
    step_overhead,
    stream_latency,
    waiting,
)
from bench.harness import write

BENCHMARKS: dict[str, ModuleType] = {
    "ack": ack, "overhead": overhead, "waiting": waiting, "resume": resume,
    "concurrency": concurrency, "slack_load": slack_load, "recovery": recovery,
    "stream_latency": stream_latency, "confinement": confinement, "mcp": mcp, "alerts": alerts,
    "cost": cost,
}  # fmt: skip
CHARTS: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
    "concurrency": charts.concurrency, "waiting": charts.waiting,
}  # fmt: skip


def _step_overhead(smoke: bool) -> None:
    steps, rounds = (5, 2) if smoke else (50, 20)
    results = step_overhead.main(steps, rounds, os.environ.get("OPSBOT_BENCH_DATABASE_URL"))
    write("step_overhead", results, smoke)


def main() -> int:
    """Parse arguments, run each benchmark, print, write."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"some of: {', '.join(BENCHMARKS)}, step_overhead")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, for CI")
    parser.add_argument("--no-charts", action="store_true")
    args = parser.parse_args()
    names = args.names or ["step_overhead", *BENCHMARKS]
    unknown = set(names) - {*BENCHMARKS, "step_overhead"}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in names:
        started = time.monotonic()
        print(f"\n== {name}{' (smoke)' if args.smoke else ''}", flush=True)
        if name == "step_overhead":
            _step_overhead(args.smoke)
            continue
        module = BENCHMARKS[name]
        results = module.run(args.smoke)
        print((module.__doc__ or "").strip().splitlines()[0])
        print(module.report(results))
        print(f"({time.monotonic() - started:.0f} s; {write(name, results, args.smoke)})")
        if name in CHARTS and not args.smoke and not args.no_charts:
            print(f"chart: {CHARTS[name](results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
