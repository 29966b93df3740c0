"""Stream latency: a token leaves the model until its text is visible in the Slack thread.

`opsbot serve` (its own process) streams a 120-word answer per run from the scripted model at
50 tokens/s into the local Slack workspace (Slack's rate limits on). Each word is a unique
marker; the model server notes when it sent each, the workspace when a Web API call first
carried it (chat.startStream / appendStream / update / postMessage).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from bench.harness import percentiles, start_bot, stop_bot, table
from sandbox.model.scenario import parse_scenario
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack, start_slack

WORDS = 120
MARKER = re.compile(r"m\d+x\d{3}")
TEXT_METHODS = ("chat.startStream", "chat.appendStream", "chat.update", "chat.postMessage",
                "chat.stopStream")  # fmt: skip


def script(runs: int) -> Any:
    """One turn per run, told apart by its number: the answer is that run's markers."""
    return parse_scenario({"name": "stream-latency", "tokens_per_second": 50, "turns": [
        {"match": f"^stream {n}$",
         "router": [{"agent": "log_analyzer", "reason": "stream"},
                    {"agent": "done", "reason": "answered"}],
         "log_analyzer": [{"text": " ".join(f"m{n}x{i:03d}" for i in range(WORDS))}]}
        for n in range(runs)
    ]})  # fmt: skip


def latencies(slack: RunningSlack, model: RunningModelServer) -> list[float]:
    """Per marker: first visible in a Web API call minus emitted by the model, in ms."""
    emitted: dict[str, float] = {}
    for when, text in model.state.emitted:
        for marker in MARKER.findall(text):
            emitted.setdefault(marker, when)
    visible: dict[str, float] = {}
    for call in slack.sandbox.calls:
        if call["method"] in TEXT_METHODS and call.get("ok"):
            for marker in MARKER.findall(json.dumps(call["args"])):
                visible.setdefault(marker, call["at"])
    missing = set(emitted) - set(visible)
    assert not missing, f"{len(missing)} streamed words never reached the thread"
    return [(visible[m] - emitted[m]) * 1000 for m in emitted]


async def measure(runs: int) -> dict[str, Any]:
    """Run `runs` streamed answers one after the other."""
    slack = await start_slack()
    model = await start_model_server(script(runs))
    bot = await start_bot(slack, model.url)
    try:
        for n in range(runs):
            root = await slack.sandbox.post_as("U0ONCALL", "C0INCIDENTS", f"<@U0BOT> stream {n}")

            def finished(ts: str = root.ts) -> bool:
                thread = slack.sandbox.rendered_thread("C0INCIDENTS", ts)
                return any("tokens" in str(m["blocks"]) for m in thread)

            await slack.sandbox.wait_until(finished, 120)
        values = latencies(slack, model)
    finally:
        await stop_bot(bot)
        await model.stop()
        await slack.stop()
    return {"runs": runs, "words": len(values), **percentiles(values)}


def run(smoke: bool) -> list[dict[str, Any]]:
    """One measurement (SQLite: the database does not carry the stream)."""
    return [asyncio.run(measure(1 if smoke else 5))]


def report(results: list[dict[str, Any]]) -> str:
    """Token emitted → visible, in ms."""
    rows = [[r["runs"], r["words"], r["p50"], r["p90"], r["p99"], r["max"]] for r in results]
    return table(["runs", "words", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows)
