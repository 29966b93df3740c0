"""`python -m bench`: run the benchmarks, print tables, write JSON to bench/results/."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from bench import step_overhead

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    """Parse arguments, run, write results."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    args = parser.parse_args()
    steps, rounds = (5, 2) if args.smoke else (args.steps, args.rounds)
    postgres = os.environ.get("OPSBOT_BENCH_DATABASE_URL")
    results = step_overhead.main(steps, rounds, postgres)
    RESULTS.mkdir(exist_ok=True)
    record = {
        "benchmark": "step_overhead",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "results": results,
    }
    (RESULTS / "step_overhead.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
