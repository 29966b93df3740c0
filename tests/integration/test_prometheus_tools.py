"""The prometheus toolset against Debian's real Prometheus 2.42 and Alertmanager 0.25: an
exporter Prometheus scrapes every second, a rule that fires, alerts in Alertmanager, a silence
created through the tool; and the failures an agent meets (bad PromQL, bad times, unknown
metrics, a server that is down, answers HTML, fails or hangs), each called through the tool
as the agent calls it."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from core.types import Risk
from tests.metrics.exporter import (
    ERRORS,
    SHARDS,
    Exporter,
    errors_rule,
    latency_rule,
    serve_exporter,
)
from tests.metrics.servers import (
    RunningServer,
    free_port,
    start_alertmanager,
    start_prometheus,
    wait_until,
    write_rules,
)
from tools.base import ToolContext, ToolResult, ToolStatus
from tools.prometheus.client import AlertmanagerApi, PrometheusApi
from tools.prometheus.queries import RangeWindow, range_query
from tools.prometheus.series import RangeSeries
from tools.prometheus.times import rfc3339
from tools.registry import default_tools

pytestmark = pytest.mark.asyncio(loop_scope="module")
TOOLS = default_tools()
SHARD_COUNT = 150


async def call(name: str, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """Run a tool as the engine does: parse, handle, redact, cap."""
    tool = TOOLS.get(name)
    assert tool is not None, name
    return await tool.run(args, ctx)


def ok(result: ToolResult) -> dict[str, Any]:
    assert result.status is ToolStatus.OK, result.error
    assert not result.truncated
    data: dict[str, Any] = result.data
    return data


def failed(result: ToolResult) -> str:
    assert result.status is ToolStatus.ERROR, result.data
    assert result.error is not None
    return result.error


@dataclass(frozen=True)
class Stack:
    exporter: Exporter
    prometheus: RunningServer
    alertmanager: RunningServer
    ctx: ToolContext
    errors_at: float
    """When the exporter's error counter jumped from 0 to 10 (unix seconds)."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Exporter, Alertmanager and Prometheus (rules AppErrors and AppSlow); the error counter
    is 0 for two seconds of samples, then 10 (AppErrors fires)."""
    directory = tmp_path_factory.mktemp("metrics")
    rules = write_rules(directory / "rules.yml", [errors_rule(), latency_rule()])
    async with (
        serve_exporter() as exporter,
        start_alertmanager() as alertmanager,
        start_prometheus([exporter.target], [rules], alertmanager.url) as prometheus,
    ):
        exporter.set_shards(SHARD_COUNT)
        exporter.observe(0.2, count=5)
        ctx = ToolContext(
            workspace=directory,
            prometheus=PrometheusApi.from_url(prometheus.url, timeout_s=5),
            alertmanager=AlertmanagerApi.from_url(alertmanager.url, timeout_s=5),
        )

        async def scraped() -> bool:
            found = await call("prometheus_query", {"query": f"{ERRORS} == 0"}, ctx)
            return found.status is ToolStatus.OK and bool(found.data["series_count"] == 1)

        await wait_until(scraped, 30, "the first scrape")
        await asyncio.sleep(2.2)
        errors_at = time.time()
        exporter.fail(10)
        yield Stack(exporter, prometheus, alertmanager, ctx, errors_at)


async def errors_seen(stack: Stack) -> None:
    async def seen() -> bool:
        found = ok(await call("prometheus_query", {"query": f"sum({ERRORS})"}, stack.ctx))
        return bool(found["series"]) and bool(found["series"][0]["value"] == 10)

    await wait_until(seen, 10, "the scrape of 10 errors")


async def test_instant_query_gives_labels_and_value(stack: Stack) -> None:
    await errors_seen(stack)
    found = ok(await call("prometheus_query", {"query": ERRORS}, stack.ctx))
    assert found["result_type"] == "vector"
    assert found["series_count"] == 1
    (series,) = found["series"]
    assert series["value"] == 10
    assert series["labels"] == {
        "__name__": ERRORS,
        "instance": stack.exporter.target,
        "job": "app",
        "route": "/checkout",
    }
    assert found["time"].endswith("Z")
    scalar = ok(await call("prometheus_query", {"query": "1 + 1"}, stack.ctx))
    assert scalar["result_type"] == "scalar"
    assert scalar["value"] == 2


@pytest.mark.parametrize("form", ["rfc3339", "unix", "unix-number"])
async def test_instant_query_at_a_time_before_the_errors(stack: Stack, form: str) -> None:
    await errors_seen(stack)
    before = stack.errors_at - 0.5
    at: Any = {"rfc3339": rfc3339(before), "unix": f"{before:.3f}", "unix-number": before}[form]
    found = ok(await call("prometheus_query", {"query": ERRORS, "time": at}, stack.ctx))
    assert [s["value"] for s in found["series"]] == [0]
    assert _unix(found["time"]) == pytest.approx(before, abs=0.002)


async def test_range_query_summarises_and_finds_when_it_changed(stack: Stack) -> None:
    await errors_seen(stack)
    await asyncio.sleep(max(0.0, stack.errors_at + 6.5 - time.time()))
    window = {"start": stack.errors_at - 2, "end": stack.errors_at + 6, "step": "1s"}
    found = ok(await call("prometheus_query_range", {"query": ERRORS, **window}, stack.ctx))
    assert found["step"] == "1s"
    (series,) = found["series"]
    assert "values" not in series
    assert "points" not in series
    assert (series["min"], series["max"], series["last"]) == (0, 10, 10), json.dumps(found)
    assert 0 < series["mean"] < 10
    change = series["largest_change"]
    assert (change["before"], change["after"]) == (0, 10)
    changed = _unix(change["at"])
    assert stack.errors_at <= changed <= stack.errors_at + 4, (change, stack.errors_at)
    assert series["first_time"] < change["at"] <= series["last_time"]


async def test_range_query_default_window_and_step(stack: Stack) -> None:
    found = ok(await call("prometheus_query_range", {"query": ERRORS}, stack.ctx))
    assert found["step"] == "12s"  # an hour in at most 300 points
    assert _unix(found["end"]) - _unix(found["start"]) == pytest.approx(3600, abs=1)


async def test_range_query_keeps_the_points_for_a_chart(stack: Stack) -> None:
    await errors_seen(stack)
    assert stack.ctx.prometheus is not None
    await asyncio.sleep(max(0.0, stack.errors_at + 6.5 - time.time()))
    window = RangeWindow.of(stack.errors_at - 2, stack.errors_at + 6, "1s")
    series = await range_query(stack.ctx.prometheus, ERRORS, window)
    assert [type(s) for s in series] == [RangeSeries]
    values = [value for _, value in series[0].points]
    assert (values[0], values[-1]) == (0, 10)
    assert [t for t, _ in series[0].points] == sorted(t for t, _ in series[0].points)


async def test_range_query_with_chart_gives_people_a_png_and_the_model_the_summary(
    stack: Stack,
) -> None:
    await errors_seen(stack)
    await asyncio.sleep(max(0.0, stack.errors_at + 6.5 - time.time()))
    window = {"start": stack.errors_at - 2, "end": stack.errors_at + 6, "step": "1s"}
    result = await call("prometheus_query_range", {"query": ERRORS, **window, "chart": True},
                        stack.ctx)  # fmt: skip
    found = ok(result)
    assert found["chart_posted"] is True
    (chart,) = result.files
    assert base64.b64decode(chart.content_b64).startswith(b"\x89PNG\r\n\x1a\n")
    assert ERRORS in chart.title
    assert chart.name.endswith(".png")
    assert "content_b64" not in result.for_model(), "the model never gets the picture"
    plain = await call("prometheus_query_range", {"query": ERRORS, **window}, stack.ctx)
    assert "chart_posted" not in ok(plain)
    assert plain.files == (), "no chart unless asked"


@pytest.mark.parametrize("query", ["app_never_seen_total", 'up{job="no-such-job"}'])
async def test_a_chart_of_nothing_is_not_posted_and_the_model_hears_why(
    stack: Stack, query: str
) -> None:
    result = await call("prometheus_query_range", {"query": query, "chart": True}, stack.ctx)
    found = ok(result)
    assert found["chart_posted"] is False
    assert found["chart_note"]
    assert result.files == ()


async def test_many_series_are_capped_with_a_note(stack: Stack) -> None:
    instant = ok(await call("prometheus_query", {"query": SHARDS}, stack.ctx))
    assert instant["series_count"] == SHARD_COUNT
    assert len(instant["series"]) == 50
    assert instant["note"].startswith("100 of 150 series left out")
    ranged = ok(
        await call("prometheus_query_range", {"query": SHARDS, "start": "now-20s"}, stack.ctx)
    )
    assert ranged["series_count"] == SHARD_COUNT
    assert len(ranged["series"]) == 20
    assert ranged["note"].startswith("130 of 150 series left out")
    listed = ok(await call("prometheus_series", {"match": [SHARDS], "limit": 10}, stack.ctx))
    assert (listed["series_count"], len(listed["series"])) == (SHARD_COUNT, 10)
    assert "140 of 150 series left out" in listed["note"]
    values = ok(await call("prometheus_label_values", {"label": "shard", "limit": 100}, stack.ctx))
    assert (values["count"], len(values["values"])) == (SHARD_COUNT, 100)
    assert "50 of 150 values left out" in values["note"]


@pytest.mark.parametrize(
    ("tool", "query", "kind", "says"),
    [
        ("prometheus_query", f"rate({ERRORS}[5m]", "bad_data", "unclosed left parenthesis"),
        ("prometheus_query", f"sum by route {ERRORS}", "bad_data", "parse error"),
        ("prometheus_query_range", f"rate({ERRORS})", "bad_data", "expected type range vector"),
        ("prometheus_query", f"{SHARDS} + on() {SHARDS}", "execution", "many-to-many"),
        ("prometheus_query_range", f"{SHARDS} + on() {SHARDS}", "execution", "many-to-many"),
    ],
)
async def test_bad_promql_reaches_the_model_verbatim(
    stack: Stack, tool: str, query: str, kind: str, says: str
) -> None:
    error = failed(await call(tool, {"query": query}, stack.ctx))
    assert error.startswith(f"PromQL error ({kind}): ")
    assert says in error


@pytest.mark.parametrize("tool", ["prometheus_query", "prometheus_query_range"])
@pytest.mark.parametrize("metric", ["no_such_metric_total", 'up{job="nope"}'])
async def test_unknown_metric_is_empty_with_a_hint(stack: Stack, tool: str, metric: str) -> None:
    found = ok(await call(tool, {"query": metric}, stack.ctx))
    assert found["series_count"] == 0
    assert found["series"] == []
    assert "prometheus_label_values" in found["note"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"start": "yesterday"}, "start='yesterday' is not a time"),
        ({"start": "2026-13-45T00:00:00Z"}, "is not a time"),
        ({"end": "now-5x"}, "end='5x' is not a PromQL duration"),
        ({"start": 1764511200000}, "looks like milliseconds"),
        ({"start": "now", "end": "now-1h"}, "must be after start"),
        ({"step": "0s"}, "step='0s' must be longer than zero"),
        ({"step": "fast"}, "step='fast' is not a PromQL duration"),
        ({"start": "now-30d", "step": "1s"}, "Prometheus allows 11000"),
    ],
)
async def test_bad_times_are_explained(stack: Stack, args: dict[str, Any], says: str) -> None:
    error = failed(await call("prometheus_query_range", {"query": ERRORS, **args}, stack.ctx))
    assert says in error


@pytest.mark.parametrize("at", ["tomorrow-ish", -5, "1764511200000"])
async def test_bad_instant_time_is_explained(stack: Stack, at: str | float) -> None:
    error = failed(await call("prometheus_query", {"query": ERRORS, "time": at}, stack.ctx))
    assert error.startswith("time=")


async def test_discovery_finds_metric_names_series_and_labels(stack: Stack) -> None:
    names = ok(await call("prometheus_label_values", {}, stack.ctx))
    assert {ERRORS, SHARDS, "app_request_duration_seconds_bucket", "up"} <= set(names["values"])
    scoped = ok(
        await call("prometheus_label_values", {"match": ['{__name__=~"app_request.*"}']}, stack.ctx)
    )
    assert all(name.startswith("app_request_duration_seconds") for name in scoped["values"])
    series = ok(await call("prometheus_series", {"match": [ERRORS]}, stack.ctx))
    assert [s["route"] for s in series["series"]] == ["/checkout"]
    assert failed(await call("prometheus_series", {"match": ["{"]}, stack.ctx)).startswith(
        "PromQL error (bad_data)"
    )
    assert "match" in failed(await call("prometheus_series", {"match": []}, stack.ctx))


async def test_rules_show_state_expr_and_active_alerts(stack: Stack) -> None:
    async def firing() -> bool:
        found = ok(await call("prometheus_rules", {"state": "firing"}, stack.ctx))
        return bool(found["matching"] == 1)

    await wait_until(firing, 15, "AppErrors firing")
    found = ok(await call("prometheus_rules", {}, stack.ctx))
    assert found["rules_by_state"] == {"firing": 1, "pending": 0, "inactive": 1}
    first, second = found["rules"]
    assert (first["name"], first["state"], first["for"]) == ("AppErrors", "firing", "0s")
    assert first["expr"] == f"{ERRORS} > 5"
    assert first["annotations"]["summary"] == "Checkout is failing"
    assert first["alerts"][0]["labels"]["route"] == "/checkout"
    assert first["alerts"][0]["value"] == 10
    assert (second["name"], second["state"], second["for"]) == ("AppSlow", "inactive", "5m")
    only = ok(await call("prometheus_rules", {"name": "slow"}, stack.ctx))
    assert [r["name"] for r in only["rules"]] == ["AppSlow"]


async def test_alertmanager_lists_the_firing_alert(stack: Stack) -> None:
    async def arrived() -> bool:
        found = await call(
            "alertmanager_alerts", {"matchers": ['alertname="AppErrors"']}, stack.ctx
        )
        return found.status is ToolStatus.OK and bool(found.data["alert_count"] == 1)

    await wait_until(arrived, 15, "AppErrors in Alertmanager")
    found = ok(await call("alertmanager_alerts", {"matchers": ["severity=~pa.e"]}, stack.ctx))
    (alert,) = found["alerts"]
    assert alert["labels"]["alertname"] == "AppErrors"
    assert alert["annotations"]["description"] == "10 errors on /checkout"
    assert alert["state"] in ("active", "suppressed")
    assert alert["receivers"] == ["test"]
    none = ok(
        await call("alertmanager_alerts", {"matchers": ['alertname!="AppErrors"']}, stack.ctx)
    )
    assert none["alert_count"] == 0


@pytest.mark.parametrize(
    ("matcher", "says"),
    [
        ("alertname", "is not name="),
        ('alertname=="x"', "is not name="),
        ('job=~"("', "bad regular expression"),
    ],
)
async def test_bad_matchers_are_explained(stack: Stack, matcher: str, says: str) -> None:
    for tool in ("alertmanager_alerts", "alertmanager_silences"):
        error = failed(await call(tool, {"matchers": [matcher]}, stack.ctx))
        assert says in error


async def test_a_silence_is_previewed_created_and_listed(stack: Stack) -> None:
    tool = TOOLS.get("alertmanager_create_silence")
    assert tool is not None
    args = {
        "matchers": ['alertname="AppErrors"', 'route="/checkout"'],
        "duration": "2h",
        "comment": "checkout incident, being rolled back",
    }
    assert tool.risk is Risk.WRITE
    assert tool.assess(args, stack.ctx).risk is Risk.WRITE
    preview = tool.describe(args, stack.ctx)
    assert f"Alertmanager at {stack.alertmanager.url}" in preview
    assert '  alertname="AppErrors"\n  route="/checkout"\n' in preview
    assert "until: 2h after approval (about " in preview

    created = ok(await tool.run(args, stack.ctx))
    silence_id = created["silence_id"]
    assert _unix(created["ends_at"]) - _unix(created["starts_at"]) == pytest.approx(7200, abs=1)

    listed = ok(
        await call("alertmanager_silences", {"matchers": ['alertname="AppErrors"']}, stack.ctx)
    )
    (silence,) = [s for s in listed["silences"] if s["id"] == silence_id]
    assert silence["state"] == "active"
    assert silence["matchers"] == ['alertname="AppErrors"', 'route="/checkout"']
    assert (silence["created_by"], silence["comment"]) == ("opsbot", args["comment"])

    async def muted() -> bool:
        found = ok(
            await call("alertmanager_alerts", {"matchers": ['alertname="AppErrors"']}, stack.ctx)
        )
        return bool(found["alerts"]) and found["alerts"][0]["silenced_by"] == [silence_id]

    await wait_until(muted, 10, "the alert silenced")
    hidden = ok(
        await call(
            "alertmanager_alerts",
            {"matchers": ['alertname="AppErrors"'], "include_silenced": False},
            stack.ctx,
        )
    )
    assert hidden["alert_count"] == 0


async def test_a_silence_until_a_time_shows_that_time(stack: Stack) -> None:
    until = rfc3339(round(time.time()) + 3600)
    args = {"matchers": ['alertname="AppSlow"'], "ends_at": until, "comment": "deploy window"}
    tool = TOOLS.get("alertmanager_create_silence")
    assert tool is not None
    assert f"until: {until}\n" in tool.describe(args, stack.ctx)
    created = ok(await tool.run(args, stack.ctx))
    assert created["ends_at"] == until


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"ends_at": "now+1h"}, "exactly one of duration"),
        ({"duration": None}, "exactly one of duration"),
        ({"duration": "0s"}, "must be longer than zero"),
        ({"duration": "soon"}, "is not a PromQL duration"),
        ({"duration": None, "ends_at": "2020-01-01T00:00:00Z"}, "is not in the future"),
        ({"matchers": []}, "matchers"),
        ({"matchers": ['job=~".*"']}, "Alertmanager rejected the request (HTTP 400)"),
        ({"comment": ""}, "comment"),
    ],
)
async def test_bad_silences_are_refused(stack: Stack, change: dict[str, Any], says: str) -> None:
    args = {"matchers": ['alertname="AppErrors"'], "duration": "1h", "comment": "x", **change}
    args = {key: value for key, value in args.items() if value is not None}
    assert says in failed(await call("alertmanager_create_silence", args, stack.ctx))


# --- servers that fail: not there, HTML, errors, no answer --------------------------------

PROMETHEUS_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("prometheus_query", {"query": "up"}),
    ("prometheus_query_range", {"query": "up"}),
    ("prometheus_series", {"match": ["up"]}),
    ("prometheus_label_values", {}),
    ("prometheus_rules", {}),
]
ALERTMANAGER_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("alertmanager_alerts", {}),
    ("alertmanager_silences", {}),
    ("alertmanager_create_silence", {"matchers": ['a="b"'], "duration": "1h", "comment": "x"}),
]


def _apis(url: str, timeout_s: float = 5) -> ToolContext:
    return ToolContext(
        workspace=Path("."),
        prometheus=PrometheusApi.from_url(url, timeout_s=timeout_s),
        alertmanager=AlertmanagerApi.from_url(url, timeout_s=timeout_s),
    )


@pytest.mark.parametrize(("tool", "args"), PROMETHEUS_CALLS + ALERTMANAGER_CALLS)
async def test_a_server_that_is_down_is_a_tool_error_naming_it(
    tool: str, args: dict[str, Any]
) -> None:
    port = free_port()
    error = failed(await call(tool, args, _apis(f"http://opsbot:s3cret@127.0.0.1:{port}/")))
    assert f"at http://127.0.0.1:{port} (" in error
    assert "is not reachable: " in error
    assert "s3cret" not in error
    assert "opsbot:" not in error


@asynccontextmanager
async def odd_server() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A server that answers HTML under /html, a 500 under /broken, a JSON 503 under /busy
    and nothing for 3 s under /slow; yields its URL and the headers it received."""
    received: list[dict[str, str]] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        received.append(dict(request.headers))
        kind = request.path.split("/")[1]
        if kind == "html":
            return web.Response(
                text="<html><body><h1>Sign in</h1></body></html>", content_type="text/html"
            )
        if kind == "busy":
            return web.json_response(
                {
                    "status": "error",
                    "errorType": "timeout",
                    "error": "query timed out in expression evaluation",
                },
                status=503,
            )
        if kind == "slow":
            await asyncio.sleep(3)
        return web.Response(text="upstream exploded", status=500)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(("tool", "args"), PROMETHEUS_CALLS + ALERTMANAGER_CALLS)
async def test_html_errors_and_silence_from_a_server_are_tool_errors(
    tool: str, args: dict[str, Any]
) -> None:
    async with odd_server() as (url, _):
        html = failed(await call(tool, args, _apis(f"{url}/html")))
        assert f"at {url}/html (" in html
        assert "answered HTTP 200 with text/html, not JSON: <html><body><h1>Sign in" in html
        broken = failed(await call(tool, args, _apis(f"{url}/broken")))
        assert "answered HTTP 500 with text/plain, not JSON: upstream exploded" in broken
        slow = failed(await call(tool, args, _apis(f"{url}/slow", timeout_s=0.5)))
        assert slow.endswith(": no answer within 0.5 s")


async def test_a_prometheus_error_status_is_named_with_its_text() -> None:
    async with odd_server() as (url, _):
        error = failed(await call("prometheus_query", {"query": "up"}, _apis(f"{url}/busy")))
    assert error == (
        f"Prometheus at {url}/busy (POST /api/v1/query) answered HTTP 503: "
        "timeout: query timed out in expression evaluation"
    )


async def test_credentials_are_sent() -> None:
    async with odd_server() as (url, received):
        bearer = ToolContext(
            workspace=Path("."),
            prometheus=PrometheusApi.from_url(f"{url}/html", token="tok-1"),
            alertmanager=AlertmanagerApi.from_url(f"{url}/html", token="tok-2"),
        )
        await call("prometheus_query", {"query": "up"}, bearer)
        await call("alertmanager_alerts", {}, bearer)
        basic = _apis(url.replace("http://", "http://opsbot:p%40ss@") + "/html")
        await call("prometheus_rules", {}, basic)
    assert [r.get("Authorization") for r in received] == [
        "Bearer tok-1",
        "Bearer tok-2",
        "Basic b3BzYm90OnBAc3M=",
    ]


@pytest.mark.parametrize(("tool", "args"), PROMETHEUS_CALLS + ALERTMANAGER_CALLS)
async def test_an_unconfigured_server_is_named(tool: str, args: dict[str, Any]) -> None:
    error = failed(await call(tool, args, ToolContext(workspace=Path("."))))
    assert error.startswith("no ")
    assert "is configured (set OPSBOT_" in error


def _unix(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()
