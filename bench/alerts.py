"""Alerts: Alertmanager's POST until the alert card is in Slack and until the first model call.

`opsbot serve` (its own process, Socket Mode, the alert listener on OPSBOT_HTTP_PORT) gets N
alert groups POSTed at once to /alerts/alertmanager (one group, then a burst of 50), each as
Alertmanager 0.25 sends a firing group (webhook version 4). Per group: POST → 200 (recorded),
POST → its card's chat.postMessage in the local workspace, POST → the first Messages API
request of its investigation at the scripted model (300 ms latency, 50 tokens/s). Exactly N
cards, N runs and N investigated groups or the benchmark fails. Twice: with Slack's limits
(the workspace and the bot's pacing as Slack's: chat.postMessage ~1/s per channel) and both
scaled by 20 (the rate scale of the multi-worker end-to-end test; no other benchmark scales).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, select

from bench.harness import ROOT, databases, free_port, percentiles, reset_database, table
from core.db import sqlalchemy_url
from core.models import RunRow
from sandbox.model.scenario import parse_scenario
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig

BURST = 50
SCALE = 20.0
TOKEN = "bench-alertmanager-token-0123"
CHANNEL = "C0INCIDENTS"
PATH = "/alerts/alertmanager"
GROUP = re.compile(r"alertgroup-\d+-\d{3}")
CARD_EVENT = "opsbot_alert"
SCRIPT = parse_scenario({"name": "alert-bench", "latency_ms": 300, "tokens_per_second": 50,
    "turns": [{"match": "Alertmanager alert group",
               "router": [{"agent": "log_analyzer", "reason": "alert"},
                          {"agent": "done", "reason": "answered"}],
               "log_analyzer": [{"text": "checkout errors began at 14:02 UTC on checkout-1"}]}],
})  # fmt: skip
_measurements = iter(range(1, 10**6))


def notification(service: str) -> dict[str, Any]:
    """One firing group (version 4, as Alertmanager 0.25 sends it); `service` names it."""
    labels = {"alertname": "HighErrorRate", "service": service, "severity": "page"}
    return {
        "version": "4", "status": "firing", "receiver": "opsbot", "truncatedAlerts": 0,
        "groupKey": f'{{}}/{{severity="page"}}:{{alertname="HighErrorRate", service="{service}"}}',
        "groupLabels": {"alertname": "HighErrorRate", "service": service},
        "commonLabels": labels,
        "commonAnnotations": {"summary": f"{service} returns 5xx on 12% of requests"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": "firing", "labels": {**labels, "instance": f"{service}-1:9100"},
            "annotations": {"summary": f"{service} returns 5xx on 12% of requests",
                            "runbook_url": "https://runbooks.example/5xx"},
            "startsAt": "2026-11-30T14:02:05.123Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
            "fingerprint": f"fp-{service}",
        }],
    }  # fmt: skip


async def _serve(
    slack: RunningSlack, model_url: str, database_url: str, work: Path, port: int, scale: float
) -> asyncio.subprocess.Process:
    """`opsbot serve` in Socket Mode with alerts on `port`; returns once both listen."""
    space = slack.sandbox.workspace
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "SLACK_", "OTEL_"))},
        "SLACK_BOT_TOKEN": space.bot_token, "SLACK_APP_TOKEN": space.app_token,
        "OPSBOT_SLACK_API_URL": slack.api_url, "ANTHROPIC_API_KEY": "scripted-model",
        "ANTHROPIC_BASE_URL": model_url, "OPSBOT_DATABASE_URL": database_url,
        "OPSBOT_WORKSPACE": str(work), "OPSBOT_EXECUTOR_ID": "bench",
        "OPSBOT_HTTP_PORT": str(port), "OPSBOT_ALERTMANAGER_TOKEN": TOKEN,
        "OPSBOT_ALERT_CHANNEL": CHANNEL, "OPSBOT_SLACK_RATE_SCALE": str(scale),
    }  # fmt: skip
    with (work / "bot.log").open("w") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    async with aiohttp.ClientSession() as session:
        for _ in range(1200):
            if process.returncode is not None:
                raise RuntimeError(f"opsbot serve exited with {process.returncode} ({work})")
            if getattr(slack.sandbox.delivery, "connections", None):
                try:  # any answer (a GET is 405) means the alert listener is open
                    async with session.get(f"http://127.0.0.1:{port}{PATH}"):
                        return process
                except aiohttp.ClientConnectorError:
                    pass
            await asyncio.sleep(0.05)
    raise RuntimeError("opsbot serve did not come up")


async def _post(session: aiohttp.ClientSession, port: int, body: dict[str, Any]) -> dict[str, Any]:
    """POST one notification; when it was sent and answered (time.time()), and the answer."""
    sent = time.time()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with session.post(f"http://127.0.0.1:{port}{PATH}", json=body, headers=headers) as got:
        answer = await got.json()
        return {"sent": sent, "answered": time.time(), "status": got.status, **answer}


def _first_at(found: list[tuple[float, str]]) -> dict[str, list[float]]:
    """Every time each group appears in (time, text) pairs, in order."""
    seen: dict[str, list[float]] = {}
    for at, text in sorted(found):
        for group in set(GROUP.findall(text)):
            seen.setdefault(group, []).append(at)
    return seen


def _cards(slack: RunningSlack) -> dict[str, list[float]]:
    """Per group: when each of its cards (chat.postMessage with the card's metadata) went out."""
    found = []
    for call in slack.sandbox.calls:
        args = call["args"]
        metadata = args.get("metadata")
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata or {}
        card = call["method"] == "chat.postMessage" and not args.get("thread_ts")
        if card and call["ok"] and metadata.get("event_type") == CARD_EVENT:
            found.append((float(call["at"]), str(args.get("text")) + str(args.get("blocks"))))
    return _first_at(found)


def _model_calls(model: RunningModelServer) -> dict[str, list[float]]:
    """Per group: when each Messages API request about it arrived (the first is the router's)."""
    requests = zip(model.state.received, model.state.requests, strict=True)
    return _first_at([(at, json.dumps(body.get("messages"))) for at, body in requests])


def _runs(database_url: str) -> list[str]:
    """The message ts of every run in the database (an alert's run starts at its card)."""
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        found = [str(ts) for ts in connection.execute(select(RunRow.message_ts)).scalars()]
    engine.dispose()
    return found


def _problems(
    names: list[str], answers: list[dict[str, Any]], cards: dict[str, list[float]],
    calls: dict[str, list[float]], runs: list[str], card_ts: set[str],
) -> list[str]:  # fmt: skip
    """What is lost or doubled: each group must be answered 200 as a new episode, get one card
    and one run in that card's thread, and reach the model."""
    groups = len(names)
    bad = [a for a in answers if a["status"] != 200 or a.get("action") != "new_episode"]
    twice = [g for g, times in cards.items() if len(times) > 1]
    problems = [
        f"{len(bad)} POSTs not answered 200 new_episode: {bad[:2]}" if bad else "",
        f"cards for {len(cards)} of {groups} groups" if set(cards) != set(names) else "",
        f"{len(card_ts)} cards in the channel, {groups} groups" if len(card_ts) != groups else "",
        f"cards posted twice: {twice}" if twice else "",
        f"model calls for {len(calls)} of {groups} groups" if set(calls) != set(names) else "",
        f"{len(runs)} runs ({len(set(runs))} threads) for {groups} groups"
        if len(runs) != groups or len(set(runs)) != groups else "",
        "runs are not one per card thread" if set(runs) != card_ts else "",
    ]  # fmt: skip
    return [p for p in problems if p]


async def measure(groups: int, label: str, url: str, scale: float) -> dict[str, Any]:
    """POST `groups` firing groups at once; wait for every card and first model call."""
    reset_database(url)
    batch = next(_measurements)
    names = [f"alertgroup-{batch}-{n:03d}" for n in range(groups)]
    config = SandboxConfig(rate_window_s=60 / scale)
    slack = await start_slack(config)
    slack.sandbox.limiter.post_message_per_s = scale
    model = await start_model_server(SCRIPT)
    work = Path(tempfile.mkdtemp(prefix="opsbot-bench-alerts-"))
    port = free_port()
    bot = await _serve(slack, model.url, url, work, port, scale)
    try:
        async with aiohttp.ClientSession() as session:
            answers = await asyncio.gather(*(_post(session, port, notification(n)) for n in names))

        def complete() -> bool:
            return len(_cards(slack)) >= groups and len(_model_calls(model)) >= groups

        with contextlib.suppress(TimeoutError):  # what is missing is reported below
            await slack.sandbox.wait_until(complete, 600)
        await asyncio.sleep(2.0)  # time for anything posted or started twice to show
        cards, calls, runs = _cards(slack), _model_calls(model), _runs(url)
        shown = slack.sandbox.workspace.channels[CHANNEL].messages.values()
        card_ts = {str(m.as_api()["ts"]) for m in shown if m.metadata and not m.thread_ts}
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 60)
        await model.stop()
        await slack.stop()
    problems = _problems(names, answers, cards, calls, runs, card_ts)
    if problems:
        raise AssertionError(f"alerts {label} x{groups} (log {work / 'bot.log'}): "
                             + "; ".join(problems))  # fmt: skip
    sent = {name: answer["sent"] for name, answer in zip(names, answers, strict=True)}
    limited = slack.sandbox.limiter.limited
    return {
        "database": label, "slack": "Slack's limits" if scale == 1 else f"limits x{scale:g}",
        "groups": groups, "cards": len(cards), "runs": len(runs),
        "post_to_200_ms": percentiles([(a["answered"] - a["sent"]) * 1000 for a in answers]),
        "post_to_card_ms": percentiles([(cards[n][0] - sent[n]) * 1000 for n in names]),
        "post_to_model_ms": percentiles([(calls[n][0] - sent[n]) * 1000 for n in names]),
        "card_to_model_ms": percentiles([(calls[n][0] - cards[n][0]) * 1000 for n in names]),
        "slack_calls": dict(Counter(c["method"] for c in slack.sandbox.calls if c["ok"])),
        "slack_429s": len(limited),
        "post_message_429s": sum(x["method"] == "chat.postMessage" for x in limited),
    }  # fmt: skip


def run(smoke: bool) -> list[dict[str, Any]]:
    """Single group, then the burst, at each Slack setting, on each configured database
    (smoke: SQLite, scaled limits, 1 and 5 groups)."""
    results = []
    with tempfile.TemporaryDirectory() as directory:
        found = databases(Path(directory))
        for label, url in found[:1] if smoke else found:
            for scale in (SCALE,) if smoke else (1.0, SCALE):
                for groups in (1, 5 if smoke else BURST):
                    if url.startswith("sqlite"):  # a fresh file each time
                        url = f"sqlite:///{Path(directory) / f'{next(_measurements)}.sqlite'}"
                    print(f"  {label}, limits x{scale:g}, {groups} group(s)...", flush=True)
                    results.append(asyncio.run(measure(groups, label, url, scale)))
    return results


def report(results: list[dict[str, Any]]) -> str:
    """p50 / p99 per stage in ms, then burst/single p50 and p99 in the same run."""
    rows = []
    for r in results:
        stages = [r[k] for k in ("post_to_200_ms", "post_to_card_ms", "post_to_model_ms")]
        rows.append([r["database"], r["slack"], r["groups"], f"{r['cards']}/{r['runs']}",
                     *[v for s in stages for v in (s["p50"], s["p99"])],
                     r["post_message_429s"]])  # fmt: skip
    for single, burst in zip(results[::2], results[1::2], strict=True):
        ratios = []
        for key in ("post_to_200_ms", "post_to_card_ms", "post_to_model_ms"):
            for q in ("p50", "p99"):
                ratios.append(f"x{burst[key][q] / max(single[key][q], 0.01):.1f}")
        rows.append([single["database"], single["slack"],
                     f"{burst['groups']}/{single['groups']}", "", *ratios, ""])  # fmt: skip
    headers = ["db", "slack", "groups", "cards/runs", "200 p50", "200 p99", "card p50",
               "card p99", "model p50", "model p99", "postMessage 429s"]  # fmt: skip
    return table(headers, rows)
