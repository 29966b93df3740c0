"""What every benchmark shares: percentiles, settings for an in-process engine, a copy of a
bundled incident, scenario variants, and writing results."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from agents.events import RunEvent, RunFinished
from core.settings import Settings, load_settings
from core.types import IncomingMessage, ThreadRef
from sandbox.model.scenario import (
    SCENARIOS_DIR,
    Reply,
    Scenario,
    Turn,
    load_scenario,
    parse_scenario,
)
from sandbox.slack.app import RunningSlack

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]
_sequence = itertools.count(1)
T = TypeVar("T")


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of `values` (milliseconds in, milliseconds out), rounded."""
    if not values:
        return {"n": 0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(values), "p50": round(statistics.median(ordered), 2), "p90": at(0.9),
            "p99": at(0.99), "max": round(ordered[-1], 2)}  # fmt: skip


def databases(directory: Path) -> list[tuple[str, str]]:
    """(label, URL): a fresh SQLite file, and PostgreSQL when OPSBOT_BENCH_DATABASE_URL is set."""
    found = [("sqlite", f"sqlite:///{directory / 'bench.sqlite'}")]
    if postgres := os.environ.get("OPSBOT_BENCH_DATABASE_URL"):
        found.append(("postgresql", postgres))
    return found


def on_each_database(measure: Callable[[str, str, Path], Coroutine[Any, Any, T]]) -> list[T]:
    """`measure(label, url, workdir)` for each configured database, each on a fresh event loop
    (DBOS owns the loop's default executor and shuts it down with itself)."""
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for label, url in databases(Path(directory)):
            work = Path(directory) / label
            work.mkdir()
            results.append(asyncio.run(measure(label, url, work)))
    return results


def reset_database(url: str) -> None:
    """Start a PostgreSQL benchmark from empty tables (SQLite files are fresh anyway)."""
    if url.startswith("postgresql"):
        from tests.support import reset_postgres  # the same emptying the test suite uses

        reset_postgres(url)


def incident_workspace(name: str, into: Path) -> Path:
    """A copy of a bundled incident's workspace with its logs."""
    source = SCENARIOS_DIR / name
    workspace = into / "workspace"
    shutil.copytree(source / "workspace", workspace)
    shutil.copytree(source / "logs", workspace / "logs")
    return workspace


def engine_settings(database_url: str, workspace: Path, model_url: str, **extra: Any) -> Settings:
    """Settings of an in-process engine against the scripted model."""
    values: dict[str, Any] = {
        "_env_file": None, "database_url": database_url, "anthropic_api_key": "scripted-model",
        "anthropic_base_url": model_url, "workspace": workspace, "log_sources": ["logs/*.log"],
        "poll_interval_s": 0.05, "executor_id": "bench",
    }  # fmt: skip
    values.update(extra)
    return load_settings(**values)


def new_message(text: str, team: str = "T_BENCH", channel: str = "C_BENCH") -> tuple[
    ThreadRef, IncomingMessage
]:  # fmt: skip
    """A fresh thread and its first message."""
    ts = f"{int(time.time()):010d}.{next(_sequence) % 10**6:06d}"
    return ThreadRef(team=team, channel=channel, thread_ts=ts), IncomingMessage(ts=ts, text=text)


def investigation_only(
    name: str = "checkout-500", latency_ms: float = 0.0, tokens_per_second: float = 0.0
) -> Scenario:
    """A bundled incident cut to its read-only investigation: no approvals, so it also runs
    outside a workflow (the router sends it to the log analyzer, then finishes)."""
    base = load_scenario(name)
    turn = base.turns[0]
    roles = {role: steps for role, steps in turn.roles.items() if role != "coding"}
    finish = Reply(tool_calls=(("route_to", {"agent": "done", "reason": "findings recorded"}),))
    roles["router"] = (turn.roles["router"][0], finish)
    return Scenario(
        name=f"{name}-investigation",
        prompt=base.prompt,
        turns=(Turn(match=turn.match, roles=roles),),
        latency_ms=latency_ms,
        tokens_per_second=tokens_per_second,
    )


# A run that asks at once to run one command, then answers: it pauses on that approval.
ONE_COMMAND = parse_scenario({"name": "one-command", "turns": [{
    "match": ".*",
    "router": [{"agent": "coding", "reason": "a command to run"}],
    "coding": [
        {"tool_calls": [{"name": "shell_execute", "input": {"command": "touch resumed"}}]},
        {"text": "Done."},
    ],
}]})  # fmt: skip


def write(name: str, results: Any, smoke: bool) -> Path:
    """bench/results/<name>.json with the machine and the time."""
    RESULTS.mkdir(exist_ok=True)
    record = {
        "benchmark": name, "smoke": smoke,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "results": results,
    }  # fmt: skip
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain text table."""
    cells = [headers, *[[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    )


async def start_bot(
    slack: RunningSlack,
    model_url: str,
    http_port: int | None = None,
    log_path: Path | None = None,
) -> asyncio.subprocess.Process:
    """`opsbot serve` against an in-process sandbox and a scripted model, on a fresh SQLite
    file, in Socket Mode or (with `http_port`) HTTP mode; returns once it is connected or
    answers /healthz. Its stderr goes to `log_path` when given."""
    space = slack.sandbox.workspace
    directory = Path(tempfile.mkdtemp(prefix="opsbot-bench-"))
    env = {
        "ANTHROPIC_API_KEY": "scripted-model", "ANTHROPIC_BASE_URL": model_url,
        "OPSBOT_DATABASE_URL": f"sqlite:///{directory / 'bot.sqlite'}",
        "OPSBOT_WORKSPACE": str(directory),
    }  # fmt: skip
    mode = (
        {"SLACK_APP_TOKEN": space.app_token}
        if http_port is None
        else {"SLACK_SIGNING_SECRET": space.signing_secret, "OPSBOT_HTTP_PORT": str(http_port)}
    )
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "SLACK_", "OTEL_"))},
        "SLACK_BOT_TOKEN": space.bot_token, "OPSBOT_SLACK_API_URL": slack.api_url,
        "OPSBOT_EXECUTOR_ID": "bench", **mode, **env,
    }  # fmt: skip
    with Path(log_path or os.devnull).open("w") as log:  # noqa: ASYNC230 (instant)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", env=full, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    for _ in range(600):
        if process.returncode is not None:
            raise RuntimeError(f"opsbot serve exited with {process.returncode}")
        if http_port is None and getattr(slack.sandbox.delivery, "connections", None):
            return process
        if http_port is not None and await _answers(f"http://127.0.0.1:{http_port}/healthz"):
            return process
        await asyncio.sleep(0.05)
    raise RuntimeError("opsbot serve did not come up")


async def _answers(url: str) -> bool:
    import aiohttp

    try:
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            return answer.status == 200
    except aiohttp.ClientError:
        return False


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    """SIGTERM and wait."""
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), 60)


async def start_model_process(
    latency_ms: float, tokens_per_second: float, script: str = "investigation"
) -> tuple[str, asyncio.subprocess.Process]:
    """A scripted model in its own process ("investigation" or "one-command"): (URL, process)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.model_process", str(free_port()), str(latency_ms),
        str(tokens_per_second), script, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,  # a client killed mid-stream is expected here
    )  # fmt: skip
    assert process.stdout is not None
    url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    return url, process


class FinishPublisher:
    """Drops every event but a run's end, which it hands to whoever waits for that run.

    (RecordingPublisher keeps and rescans every event: with hundreds of runs that scan, not the
    engine, would be what a benchmark measures.)"""

    def __init__(self) -> None:
        self._finished: dict[str, asyncio.Future[RunFinished]] = {}

    def _future(self, run_id: str) -> asyncio.Future[RunFinished]:
        if run_id not in self._finished:
            self._finished[run_id] = asyncio.get_running_loop().create_future()
        return self._finished[run_id]

    async def publish(self, event: RunEvent) -> None:
        """Resolve the run's future on its RunFinished."""
        if isinstance(event, RunFinished) and not self._future(event.run_id).done():
            self._future(event.run_id).set_result(event)

    async def finished(self, run_id: str) -> RunFinished:
        """The run's RunFinished event, once published."""
        return await self._future(run_id)
