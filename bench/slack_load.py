"""Slack under load: many incident threads at once through `opsbot serve` and the local Slack
workspace with Slack's rate limits on. Reports the Web API calls per method against their tier,
the 429s received and whether each was honoured, and whether any message was lost.

Threads are spread over 10 channels (chat.postMessage is limited per channel); each is the
checkout-500 investigation against the scripted model at 300 ms latency and 50 tokens/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

from bench.harness import RESULTS, investigation_only, start_bot, stop_bot, table
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.model import Channel
from sandbox.slack.ratelimit import METHOD_TIERS, POST_MESSAGE, TIER_PER_MINUTE

CHANNELS = [f"C0LOAD{n:02d}" for n in range(10)]


def _peak_per_minute(times: list[float]) -> int:
    """The most calls inside any 60-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 60:
            start += 1
        best = max(best, end - start + 1)
    return best


def _unhonoured(slack: RunningSlack) -> int:
    """Calls sent to the same method (and channel) before a 429's Retry-After had passed."""
    calls, limited = slack.sandbox.calls, slack.sandbox.limiter.limited
    count = 0
    for index, call in enumerate(calls):
        if call["status"] != 429:
            continue
        wait = next((x["retry_after"] for x in limited if abs(x["at"] - call["at"]) < 0.05), 1.0)
        same = [c for c in calls[index + 1 :] if c["method"] == call["method"]
                and c["args"].get("channel") == call["args"].get("channel")]  # fmt: skip
        if same and same[0]["at"] < call["at"] + wait - 0.3:
            count += 1
    return count


async def measure(threads: int) -> dict[str, Any]:
    """Start `threads` threads at once; wait for every final answer."""
    slack = await start_slack()
    space = slack.sandbox.workspace
    for channel in CHANNELS:
        space.channels[channel] = Channel(channel, channel.lower(), set(space.users))
    model = await start_model_server(investigation_only(latency_ms=300, tokens_per_second=50))
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / "slack_load-bot.log"
    bot = await start_bot(slack, model.url, log_path=log_path)
    roots = []
    try:
        started = time.monotonic()
        for n in range(threads):
            channel = CHANNELS[n % len(CHANNELS)]
            text = "<@U0BOT> checkout is returning 500s"
            message = await slack.sandbox.post_as("U0ONCALL", channel, text)
            roots.append((channel, message.ts))

        def answered() -> int:
            return sum(
                any("tokens" in str(m["blocks"]) for m in slack.sandbox.rendered_thread(c, ts))
                for c, ts in roots
            )

        with contextlib.suppress(TimeoutError):  # what is missing then is reported as lost
            await slack.sandbox.wait_until(lambda: answered() == threads, 300)
        elapsed = time.monotonic() - started
        finals = answered()
        open_streams = sum(m["streaming"] for c, ts in roots
                           for m in slack.sandbox.rendered_thread(c, ts))  # fmt: skip
    finally:
        await stop_bot(bot)
        await model.stop()
        await slack.stop()
    by_method: dict[str, list[float]] = {}
    for call in slack.sandbox.calls:
        by_method.setdefault(call["method"], []).append(call["at"])
    limited = Counter(x["method"] for x in slack.sandbox.limiter.limited)
    methods = [
        {"method": method, "calls": len(times), "peak_per_min": _peak_per_minute(times),
         "limit_per_min": ("1/s per channel" if method == POST_MESSAGE else
                           TIER_PER_MINUTE.get(METHOD_TIERS.get(method, 0), "-")),
         "429s": limited.get(method, 0)}
        for method, times in sorted(by_method.items())
    ]  # fmt: skip
    return {"threads": threads, "all_answered_s": round(elapsed, 1), "answered": finals,
            "lost": threads - finals, "open_streams": open_streams,
            "429s": sum(limited.values()), "unhonoured_429s": _unhonoured(slack),
            "bot_errors": log_path.read_text().count(" ERROR "), "bot_log": str(log_path),
            "methods": methods}  # fmt: skip


def run(smoke: bool) -> list[dict[str, Any]]:
    """One load (the bot on SQLite)."""
    return [asyncio.run(measure(3 if smoke else 50))]


def report(results: list[dict[str, Any]]) -> str:
    """Summary line, then calls per method against Slack's limits."""
    lines = []
    for r in results:
        lines.append(f"{r['threads']} threads: all answered in {r['all_answered_s']} s, "
                     f"lost {r['lost']}, streams left open {r['open_streams']}, "
                     f"429s {r['429s']} (not honoured: {r['unhonoured_429s']}), "
                     f"bot errors logged {r['bot_errors']} ({r['bot_log']})")  # fmt: skip
        rows = [[m["method"], m["calls"], m["peak_per_min"], m["limit_per_min"], m["429s"]]
                for m in r["methods"]]  # fmt: skip
        lines.append(table(["method", "calls", "peak/min", "limit/min", "429s"], rows))
    return "\n".join(lines)
