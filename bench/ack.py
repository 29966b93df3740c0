"""Ack latency: how fast `opsbot serve` answers Slack's event deliveries (Slack allows 3 s).

Mentions arrive at a steady rate (each a new incident: an `app_mention` and a `message`
delivery, and a run the bot starts); the local workspace times each delivery until its ack:
the HTTP response for signed HTTP events, the `envelope_id` ack for Socket Mode envelopes.
The bot runs in its own process on SQLite with Slack's rate limits on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import free_port, percentiles, start_bot, stop_bot, table
from sandbox.model.scenario import parse_scenario
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig

QUICK = parse_scenario({"name": "quick", "turns": [{
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look"}, {"agent": "done", "reason": "ok"}],
    "log_analyzer": [{"text": "Nothing unusual in the logs."}],
}]})  # fmt: skip


def ack_times(slack: RunningSlack, mode: str) -> list[float]:
    """Milliseconds from each delivery until its ack, from the workspace's delivery log."""
    log = slack.sandbox.delivery.log
    if mode == "http":
        return [e["duration_ms"] for e in log if e["kind"] == "event" and e["outcome"] == "ok"]
    sent = {e["envelope_id"]: e["at"] for e in log if e["kind"] == "events_api"}
    return [(e["at"] - sent[e["envelope_id"]]) * 1000 for e in log
            if e["kind"] == "ack" and e["envelope_id"] in sent]  # fmt: skip


async def measure(mode: str, rate: float, seconds: float) -> dict[str, Any]:
    """`rate` mentions per second for `seconds`, delivered over `mode`."""
    port = free_port() if mode == "http" else None
    deliver = f"http://127.0.0.1:{port}/slack/events" if port else "socket"
    slack = await start_slack(SandboxConfig(deliver=deliver))
    model = await start_model_server(QUICK)
    bot = await start_bot(slack, model.url, http_port=port)
    try:
        started = time.monotonic()
        count = int(rate * seconds)
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            await slack.sandbox.post_as("U0ONCALL", "C0INCIDENTS", f"<@U0BOT> incident {n}")
        expected = 2 * count
        await slack.sandbox.wait_until(lambda: len(ack_times(slack, mode)) >= expected, 60)
        values = ack_times(slack, mode)
        unacked = expected - len(values)
        retried = sum(1 for e in slack.sandbox.delivery.log if e.get("attempt", 0) > 0)
    finally:
        await stop_bot(bot)
        await model.stop()
        await slack.stop()
    return {"mode": mode, "rate_per_s": rate, "seconds": seconds, "unacked": unacked,
            "redelivered": retried, **percentiles(values)}  # fmt: skip


def run(smoke: bool) -> list[dict[str, Any]]:
    """HTTP and Socket Mode, each with its own bot."""
    seconds = 2.0 if smoke else 60.0
    return [asyncio.run(measure(mode, 20.0, seconds)) for mode in ("http", "socket")]


def report(results: list[dict[str, Any]]) -> str:
    """Target: p99 under 50 ms (Slack's limit is 3,000 ms)."""
    rows = [[r["mode"], r["n"], r["p50"], r["p90"], r["p99"], r["max"], r["redelivered"]]
            for r in results]  # fmt: skip
    return table(["delivery", "acks", "p50 ms", "p90 ms", "p99 ms", "max ms", "redelivered"], rows)
