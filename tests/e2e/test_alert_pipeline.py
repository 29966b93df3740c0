"""The whole alert path with the real servers: an exporter (prometheus_client) counts errors,
Debian's Prometheus evaluates a rule that fires, Debian's Alertmanager calls opsbot's webhook
with its bearer token, and the thread shows the alert card, the investigation's PromQL calls
against that Prometheus and a chart of the range query. Resolving stops nothing twice."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from core.db import sqlalchemy_url
from core.models import RunRow, ToolCallRow
from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import SlackSandbox
from tests.e2e.dev_process import free_port
from tests.e2e.test_crash_matrix import counter_world, serve
from tests.metrics.exporter import ERRORS, errors_rule, serve_exporter
from tests.metrics.servers import (
    alertmanager_config,
    start_alertmanager,
    start_prometheus,
    write_rules,
)
from tests.slackbot import CHANNEL, thread, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
World = tuple[RunningSlack, RunningModelServer, Path]
TOKEN = "pipeline-token-5f0c2a"
ANSWER = "app_errors_total on /checkout rose above 5 errors; it began when the alert fired."
SCRIPT: list[dict[str, Any]] = [
    {"match": "Alertmanager alert group FIRING: AppErrors",
     "router": [{"agent": "log_analyzer", "reason": "an alert fired"}],
     "log_analyzer": [
         {"text": "Reading the error counter.", "tool_calls": [
             {"name": "prometheus_query", "input": {"query": f"sum by (route) ({ERRORS})"}},
             {"name": "prometheus_rules", "input": {}}]},
         {"text": "Drawing the last five minutes.", "tool_calls": [
             {"name": "prometheus_query_range",
              "input": {"query": ERRORS, "start": "now-5m", "chart": True}}]},
         {"text": ANSWER}]},
]  # fmt: skip


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with counter_world(tmp_path, SCRIPT) as parts:
        yield parts


def _tool_results(database_url: str) -> dict[str, Any]:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(select(ToolCallRow.name, ToolCallRow.result)).all()
        runs = connection.execute(select(RunRow.id)).all()
    engine.dispose()
    return {"runs": len(runs), **{name: result for name, result in rows}}


def _roots(sandbox: SlackSandbox) -> list[dict[str, Any]]:
    messages = sandbox.workspace.channels[CHANNEL].messages.values()
    return [m.as_api() for m in messages if m.metadata and not m.thread_ts]


def _files(sandbox: SlackSandbox, ts: str) -> list[dict[str, Any]]:
    return [f for m in thread(sandbox, ts) for f in m.get("files") or []]


def _said(sandbox: SlackSandbox, ts: str) -> str:
    return "\n".join(
        str(m.get("text")) + json.dumps(m.get("blocks") or "") for m in thread(sandbox, ts)
    )


async def test_a_rule_that_fires_becomes_a_thread_with_promql_and_a_chart(
    world: World, database_url: str, tmp_path: Path
) -> None:
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    hook = f"http://127.0.0.1:{port}/alerts/alertmanager"
    rules = write_rules(tmp_path / "rules.yml", [errors_rule(threshold=5)])
    async with (
        serve_exporter() as exporter,
        start_alertmanager(alertmanager_config(hook, TOKEN)) as alertmanager,
        start_prometheus([exporter.target], [rules], alertmanager.url) as prometheus,
    ):
        env = {"OPSBOT_HTTP_PORT": str(port), "OPSBOT_ALERTMANAGER_TOKEN": TOKEN,
               "OPSBOT_ALERT_CHANNEL": CHANNEL, "OPSBOT_PROMETHEUS_URL": prometheus.url,
               "OPSBOT_ALERTMANAGER_URL": alertmanager.url}  # fmt: skip
        bot = await serve(slack, model, workspace, database_url, None, extra_env=env)
        try:
            exporter.fail(12)
            card = (await wait_for(sandbox, lambda: _roots(sandbox), 90))[0]
            shown = json.dumps(card["blocks"])
            assert "[FIRING:1] AppErrors" in shown
            assert "Checkout is failing" in shown
            assert "https://runbooks.example/checkout" in shown
            assert "/graph?g0.expr=" in shown, shown
            await wait_for(sandbox, lambda: ANSWER in _said(sandbox, card["ts"]), 90)
            (chart,) = await wait_for(sandbox, lambda: _files(sandbox, card["ts"]), 30)
            assert chart["mimetype"] == "image/png"
            assert ERRORS in chart["title"]
            said = _said(sandbox, card["ts"])
            for tool in ("prometheus_query", "prometheus_rules", "prometheus_query_range"):
                assert tool in said, f"the thread shows the {tool} call"
            results = _tool_results(database_url)
            instant = results["prometheus_query"]
            assert instant["data"]["series"][0]["value"] == 12, instant
            rules_seen = json.dumps(results["prometheus_rules"])
            assert "AppErrors" in rules_seen
            assert "firing" in rules_seen
            assert results["prometheus_query_range"]["data"]["chart_posted"] is True
            await asyncio.sleep(3)  # Alertmanager's group_interval (1 s) re-sends: repeats
            assert len(_roots(sandbox)) == 1
            assert _tool_results(database_url)["runs"] == 1
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 30)
