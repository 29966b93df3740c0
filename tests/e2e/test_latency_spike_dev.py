"""The latency-spike incident in `opsbot dev`: with Prometheus installed the bot reads the
backfilled metrics, posts a chart of the p99 and cites the metric and when it began; without
Prometheus on PATH dev says how to get it and the incident still runs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.e2e.dev_process import running_dev, served
from tests.e2e.test_incident_again import finished, start
from tests.metrics.servers import PROMETHEUS, require_binary

pytestmark = pytest.mark.e2e
STARTED = re.compile(r"metrics: Prometheus 2\.\d+\.\d+ at http://127\.0\.0\.1:(\d+) with the "
                     r"latency-spike incident")  # fmt: skip


async def test_the_spike_is_charted_and_its_metric_and_start_time_are_cited(
    tmp_path: Path,
) -> None:
    require_binary(PROMETHEUS)
    require_binary("promtool")
    async with running_dev(tmp_path / "dev") as dev:
        line = next((m for text in dev.output if (m := STARTED.search(text))), None)
        assert line is not None, "".join(dev.output)
        port = int(line.group(1))
        root = await start(dev, "latency-spike")
        runs = await finished(dev, root)
        assert [r["status"] for r in runs] == ["succeeded"], runs
        thread = await dev.thread(root)
        shown = json.dumps(thread)
        assert "prometheus_query_range" in shown
        assert "prometheus_query" in shown
        charts = [f for m in thread for f in m.get("files") or []]
        assert len(charts) == 1, f"one chart is shared: {shown[:3000]}"
        assert charts[0]["mimetype"] == "image/png"
        assert "http_request_duration_seconds" in charts[0]["title"]
        assert "2026-11-24T14:30:00Z" in charts[0]["title"]
        said = " ".join(m["text"] for m in thread)
        assert "http_request_duration_seconds" in said
        assert "15:12:00 UTC" in said
    assert not served(port), "Prometheus stopped with opsbot dev"


async def test_without_prometheus_dev_says_how_to_get_it_and_the_incident_still_runs(
    tmp_path: Path,
) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("git",):  # what dev needs besides Prometheus
        found = next(Path(d) / tool for d in os.environ["PATH"].split(":")
                     if (Path(d) / tool).is_file())  # fmt: skip
        (bare / tool).symlink_to(found)
    async with running_dev(tmp_path / "dev", {"PATH": str(bare)}) as dev:
        said = "".join(dev.output)
        assert (
            "metrics: Prometheus is not installed (apt-get install prometheus "
            "prometheus-alertmanager); the latency-spike incident runs without metrics"
        ) in said
        root = await start(dev, "latency-spike")
        runs = await finished(dev, root)
        assert runs
        assert all(r["finished_at"] for r in runs)
        thread = await dev.thread(root)
        assert not [f for m in thread for f in m.get("files") or []], "no Prometheus, no chart"


async def test_without_prometheus_its_eval_cases_fail_saying_how_to_get_it(tmp_path: Path) -> None:
    from tests.e2e.test_eval import opsbot_eval

    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("git", "python3"):
        found = next(Path(d) / tool for d in os.environ["PATH"].split(":")
                     if (Path(d) / tool).is_file())  # fmt: skip
        (bare / tool).symlink_to(found)
    code, stdout, stderr = await opsbot_eval(
        "--case", "latency-spike", "--case", "latency-spike-alert", "--out", str(tmp_path / "out"),
        env={"PATH": str(bare)},
    )  # fmt: skip
    assert code != 0, stdout + stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    errors = [run["error"] for case in report["cases"] for run in case["runs"]]
    assert len(errors) == 2
    for error in errors:
        assert "the case needs Prometheus: metrics: Prometheus is not installed" in error
        assert "apt-get install prometheus" in error
