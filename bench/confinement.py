"""What the kernel sandbox adds per command: everyday read-only commands run by opsbot's
confined executor vs the same argv started directly, interleaved in one run.

Run: `python -m bench confinement` (part of `make bench`). Target: at most 20 ms added per
command. The launcher is a `python -I -S` process (started ahead, while the previous command's
result goes back to the model) that applies Landlock and seccomp and forks the programs.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import table
from tools.confine import Confinement, probe
from tools.policy import Classifier, CommandPolicy
from tools.shell.executor import run_script

# Commands of an agent are a model call apart (seconds); the launcher kept ready for the next
# one starts in that time. The pause gives it 50 ms, before each timed run of either kind.
PAUSE_S = 0.05
COMMANDS = (
    "ls -la",
    "cat app.log",
    "grep -c ERROR app.log",
    "grep ERROR app.log | sort | uniq -c | sort -rn | head -n 5",
    "git log --oneline -n 5",
)


def _workspace(root: Path) -> Path:
    workspace = root / "ws"
    workspace.mkdir()
    lines = [f"2026-11-30T10:{i % 60:02d}:00Z {'ERROR' if i % 7 == 0 else 'INFO'} req {i}"
             for i in range(2000)]  # fmt: skip
    (workspace / "app.log").write_text("\n".join(lines) + "\n")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=b", "-c", "user.email=b@x",
                                                 "commit", "-qm", "first"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=workspace, check=True, capture_output=True)
    return workspace


def _direct(command: str, workspace: Path) -> None:
    """The same pipeline without confinement: each stage started directly, no shell."""
    stages = [stage.split() for stage in command.split(" | ")]
    previous: subprocess.Popen[bytes] | None = None
    procs = []
    for stage in stages:
        stage = [s.strip("'") for s in stage]
        proc = subprocess.Popen(stage, cwd=workspace, stdin=previous.stdout if previous else None,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(proc)
        previous = proc
    procs[-1].communicate()
    for proc in procs[:-1]:
        proc.wait()


async def _measure(rounds: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as temp:
        root = Path(temp)
        workspace = _workspace(root)
        confinement = Confinement(workspace)
        classifier = Classifier(CommandPolicy.load(), workspace, confinement, root / "scratch")
        rows = []
        for command in COMMANDS:
            decision = classifier.classify(command)
            assert decision.plan is not None, decision.summary
            confined, direct = [], []
            for _ in range(rounds):
                await asyncio.sleep(PAUSE_S)
                started = time.perf_counter()
                await run_script(decision.plan, cwd=workspace, confinement=confinement,
                                 scratch_root=root / "scratch", timeout_s=30, output_cap=65536,
                                 recheck=classifier.plain_reasons,
                                 visible=classifier.may_list)  # fmt: skip
                confined.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(PAUSE_S)
                started = time.perf_counter()
                await asyncio.to_thread(_direct, command, workspace)
                direct.append((time.perf_counter() - started) * 1000)
            rows.append({
                "command": command,
                "direct_ms": round(statistics.median(direct), 2),
                "confined_ms": round(statistics.median(confined), 2),
                "added_ms": round(statistics.median(confined) - statistics.median(direct), 2),
                "ratio": round(statistics.median(confined) / statistics.median(direct), 2),
            })  # fmt: skip
        return rows


def run(smoke: bool) -> dict[str, Any]:
    """Median direct and confined time per command (`rounds` runs of each, interleaved)."""
    status = probe()
    if not status.active:
        return {"sandbox": status.detail, "rows": []}
    rounds = 3 if smoke else 40
    return {"sandbox": status.detail, "rounds": rounds, "rows": asyncio.run(_measure(rounds))}


def report(results: dict[str, Any]) -> str:
    """The table BENCHMARKS.md shows."""
    if not results["rows"]:
        return f"skipped: {results['sandbox']}"
    rows = [[r["command"], r["direct_ms"], r["confined_ms"], r["added_ms"], r["ratio"]]
            for r in results["rows"]]  # fmt: skip
    head = ["command", "direct ms", "confined ms", "added ms", "ratio"]
    return f"{results['sandbox']}; median of {results['rounds']}\n" + table(head, rows)
