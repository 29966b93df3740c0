"""A chart a tool made reaches the run's thread: a real run (DBOS, the scripted model) renders
through the Slack publisher into the local workspace, which receives Slack's external upload
from the bot's rate-aware writer. The model never receives the file; a failed upload leaves a
note and the run still answers."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel
from slack_sdk.web.async_client import AsyncWebClient

from bot.thread_files import share_files
from bot.writer import SlackWriter
from core.redact import Redactor
from core.types import Risk
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import Outage, SandboxConfig
from tests import slack_runs
from tests.slack_runs import CHANNEL, replies
from tests.support import scripted
from tools.base import Tool, ToolContext, ToolFile, WithFiles
from tools.prometheus.chart import chart_file
from tools.prometheus.series import RangeSeries

ANSWER = "Errors rose at 22:40 UTC on api-3."
CHART_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look at the metric"}],
    "log_analyzer": [
        {"text": "Drawing the error rate.", "tool_calls": [
            {"name": "draw_error_rate", "input": {"query": "rate(errors_total[5m])"}}]},
        {"text": ANSWER},
    ],
}  # fmt: skip
SERIES = [
    RangeSeries({"instance": f"api-{i}"}, [(1_764_540_000.0 + 30 * k, float(i * k % 9))
                                            for k in range(40)])
    for i in range(3)
]  # fmt: skip


class ChartInput(BaseModel):
    query: str


async def _summary(args: ChartInput, ctx: ToolContext) -> WithFiles:
    """A read-only handler whose result carries a chart, as `prometheus_query_range`'s does."""
    chart = chart_file(SERIES, "Error rate: rate(errors_total[5m])", redact=ctx.redactor.redact)
    return WithFiles({"query": args.query, "series": len(SERIES), "max": 8.0}, (chart,))


DRAW = Tool(name="draw_error_rate", description="Draw the error rate.",
                    input_model=ChartInput, risk=Risk.READ, handler=_summary)  # fmt: skip


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_window_s=60.0))
    yield running
    await running.stop()


@pytest.fixture
async def model() -> AsyncIterator[RunningModelServer]:
    server = await start_model_server(scripted([CHART_TURN]))
    yield server
    await server.stop()


async def run_in_thread(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path
) -> tuple[str, str, list[dict[str, Any]]]:
    """The chart-drawing run (tests/slack_runs.py)."""
    return await slack_runs.run_in_thread(slack, model, database_url, workspace, (DRAW,), ANSWER)


async def test_a_tools_chart_is_shared_into_the_run_thread_after_its_line(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path
) -> None:
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace)

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    with_file = [i for i, m in enumerate(thread) if m.get("files")]
    assert len(with_file) == 1
    [file] = thread[with_file[0]]["files"]
    assert (file["title"], file["mimetype"], file["name"]) == (
        "Error rate: rate(errors_total[5m])",
        "image/png",
        "error-rate-rate-errors-total-5m.png",
    )
    assert file["alt_txt"].startswith("Line chart of 3 series")
    after = " ".join(m["text"] for m in thread[with_file[0] + 1 :])
    cards = slack_runs.task_cards(thread[: with_file[0]])
    # the tool's task card, then its chart, then the answer
    assert [(c["title"], c["status"]) for c in cards] == [
        ("draw_error_rate rate(errors_total[5m])", "complete")]  # fmt: skip
    assert ANSWER in after
    token = {"Authorization": f"Bearer {slack.sandbox.workspace.bot_token}"}
    async with aiohttp.ClientSession() as http, http.get(file["url_private"], headers=token) as got:
        assert (await got.read()).startswith(b"\x89PNG\r\n\x1a\n")
    uploads = [c for c in slack.sandbox.calls if c["method"].startswith(("files.", "upload"))]
    assert [(c["method"], c["ok"]) for c in uploads] == [
        ("files.getUploadURLExternal", True), ("upload_url", True),
        ("files.completeUploadExternal", True)]  # fmt: skip


async def test_the_model_never_receives_the_chart_but_the_call_record_keeps_it(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path
) -> None:
    _, _, recorded = await run_in_thread(slack, model, database_url, workspace)

    sent = str(model.state.requests)
    assert "content_b64" not in sent
    assert '\\"series\\": 3' in sent or '"series": 3' in sent  # the summary did reach it
    [result] = recorded
    [kept] = result["files"]
    assert base64.b64decode(kept["content_b64"]).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("outage", "why"),
    [
        (Outage("files.completeUploadExternal", error="internal_error"), "internal_error"),
        (Outage("files.getUploadURLExternal", error="ratelimited", times=20), "ratelimited"),
        (Outage("files.getUploadURLExternal", error="fatal_error", status=500), "fatal_error"),
    ],
)
async def test_a_failed_upload_leaves_a_note_and_the_run_still_answers(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path,
    outage: Outage, why: str,
) -> None:  # fmt: skip
    slack.sandbox.outages.append(dataclasses.replace(outage))  # each run counts its own calls

    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace)

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    assert not any(m.get("files") for m in thread)
    notes = [m["text"] for m in thread if "Could not attach the file" in m["text"]]
    assert len(notes) == 1
    assert "Error rate: rate(errors_total[5m])" in notes[0]
    assert why in notes[0]
    assert any(ANSWER in m["text"] for m in thread)


# -- the files themselves, shared by bot/thread_files.py through the writer ---------------------

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
async def writer(slack: RunningSlack) -> AsyncIterator[SlackWriter]:
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    yield SlackWriter(web, rate_scale=100.0)
    if web.session is not None:
        await web.session.close()


async def test_a_files_title_and_alt_text_pass_the_redactor(
    slack: RunningSlack, writer: SlackWriter
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> errors?")
    chart = chart_file(SERIES, f"errors of key {AWS_KEY}")

    notes = await share_files(writer, CHANNEL, root.ts, (chart,), Redactor())

    assert notes == []
    [file] = replies(slack, root.ts)[0]["files"]
    assert AWS_KEY not in file["title"] + file["alt_txt"]
    assert "[REDACTED:aws_key" in file["title"]


@pytest.mark.parametrize(
    ("content_b64", "why"),
    [("not base64!", "not valid"), ("", "empty"), ("AAA", "not valid")],
)
async def test_a_broken_file_is_a_note_not_an_upload(
    slack: RunningSlack, writer: SlackWriter, content_b64: str, why: str
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> errors?")
    broken = ToolFile(name="c.png", title="Error rate", content_b64=content_b64)

    [note] = await share_files(writer, CHANNEL, root.ts, (broken,), Redactor())

    assert "Could not attach the file _Error rate_" in note
    assert why in note
    assert not [c for c in slack.sandbox.calls if c["method"].startswith("files.")]


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
async def test_a_rate_limited_upload_waits_retry_after_and_shares_the_file(
    slack: RunningSlack, writer: SlackWriter, method: str
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> errors?")
    slack.sandbox.limiter.refuse_next(method, retry_after=1)

    notes = await share_files(writer, CHANNEL, root.ts, (chart_file(SERIES, "errors"),),
                              Redactor())  # fmt: skip

    assert notes == []
    assert writer.limited == 1
    assert [m["files"][0]["title"] for m in replies(slack, root.ts)] == ["errors"]
