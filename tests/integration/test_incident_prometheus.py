"""The latency-spike incident's metrics backfilled into a real Prometheus 2.42 (Debian's
`prometheus` and `promtool`), queried at their fixed times as the scripted model does."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.dev_metrics import start_incident_metrics, stop_incident_metrics
from sandbox.metrics.prometheus import Binaries, MetricsError, prepare
from tests.metrics.servers import PROMETHEUS, require_binary

P99 = ('histogram_quantile(0.99, sum by (le) '
       '(rate(http_request_duration_seconds_bucket{service="cart-api"}[5m])))')  # fmt: skip
ERRORS = ('sum(rate(http_requests_total{service="cart-api",code=~"5.."}[5m])) '
          '/ sum(rate(http_requests_total{service="cart-api"}[5m]))')  # fmt: skip


@pytest_asyncio.fixture
async def prometheus(tmp_path: Path) -> AsyncIterator[str]:
    require_binary(PROMETHEUS)
    require_binary("promtool")
    metrics = await start_incident_metrics(tmp_path / "prometheus")
    assert metrics.url is not None, metrics.line
    try:
        yield metrics.url
    finally:
        await stop_incident_metrics(metrics.process)


async def value_at(url: str, query: str, at: str) -> float:
    async with aiohttp.ClientSession() as session, session.post(
        f"{url}/api/v1/query", data={"query": query, "time": at}
    ) as answer:  # fmt: skip
        body = await answer.json()
    (series,) = body["data"]["result"]
    return float(series["value"][1])


async def test_the_backfilled_spike_is_served_at_its_fixed_times(prometheus: str) -> None:
    assert await value_at(prometheus, P99, "2026-11-24T15:11:00Z") < 0.5
    assert await value_at(prometheus, P99, "2026-11-24T15:12:00Z") > 5
    assert await value_at(prometheus, P99, "2026-11-24T15:30:00Z") > 9
    assert await value_at(prometheus, ERRORS, "2026-11-24T15:11:45Z") == 0
    assert abs(await value_at(prometheus, ERRORS, "2026-11-24T15:30:00Z") - 0.3) < 0.01


async def test_the_alerting_rules_are_loaded(prometheus: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{prometheus}/api/v1/rules") as a:
        groups = (await a.json())["data"]["groups"]
    names = [rule["name"] for group in groups for rule in group["rules"]]
    assert names == ["CartApiHighLatency", "CartApiHigh5xxRate"]


@pytest.mark.parametrize("promtool", ["/bin/false", "/nonexistent/promtool"])
def test_a_failing_backfill_says_why(promtool: str, tmp_path: Path) -> None:
    with pytest.raises(MetricsError, match="promtool could not backfill"):
        prepare(tmp_path, Binaries(prometheus="/nonexistent/prometheus", promtool=promtool))


@pytest.mark.parametrize("body", ["exit 1", "echo 'bad flag' >&2; exit 2"])
async def test_a_prometheus_that_stops_while_starting_is_reported(
    body: str, tmp_path: Path
) -> None:
    require_binary("promtool")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "prometheus"
    fake.write_text(f"#!/bin/sh\n{body}\n")
    fake.chmod(0o755)
    promtool = shutil.which("promtool")
    assert promtool is not None
    (bin_dir / "promtool").symlink_to(promtool)
    with pytest.raises(RuntimeError, match=r"Prometheus stopped during start \(exit [12]\)"):
        await start_incident_metrics(tmp_path / "prometheus", str(bin_dir))
