"""One OpenTelemetry trace per run: run → route / invoke_agent → chat / execute_tool / approval."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agents import service
from agents.publisher import RecordingPublisher
from core.telemetry import span_id_for, trace_id_for
from sandbox.model.server import RunningModelServer
from tests.integration.test_scenario_run import approve_every_request
from tests.support import launched, make_settings, thread_and_message


async def test_the_bundled_incident_is_one_trace_with_genai_spans(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    exporter = InMemorySpanExporter()
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, model_server.url)
    async with launched(settings, publisher, exporter):
        approving = asyncio.create_task(approve_every_request(publisher))
        thread, message = thread_and_message("checkout is returning 500s")
        await asyncio.wait_for((await service.start_turn(thread, message)).get_result(), 60)
        approving.cancel()
    run_id = message.run_id(thread)
    spans = exporter.get_finished_spans()
    assert {s.context.trace_id for s in spans} == {trace_id_for(run_id)}

    by_id = {s.context.span_id: s for s in spans}
    root = next(s for s in spans if s.name == "run")
    assert root.parent is None
    assert root.context.span_id == span_id_for(run_id, "run")
    children = {s.name for s in spans if s.parent and s.parent.span_id == root.context.span_id}
    assert children == {"route", "invoke_agent log_analyzer", "invoke_agent coding"}
    assert [s.attributes["opsbot.route.agent"] for s in sorted(
        (s for s in spans if s.name == "route"), key=lambda s: s.start_time)] == [
        "log_analyzer", "coding", "done"]  # fmt: skip

    def under(agent: str) -> list[str]:
        hop = next(s for s in spans if s.name == f"invoke_agent {agent}")
        return sorted(s.name for s in spans if s.parent and s.parent.span_id == hop.context.span_id)

    assert under("log_analyzer") == sorted(
        ["chat claude-sonnet-4-6"] * 4 + ["execute_tool search_logs", "execute_tool read_file"]
    )
    assert under("coding") == sorted(
        ["chat claude-sonnet-4-6"] * 5
        + [
            "execute_tool read_file",
            "execute_tool write_file",
            "execute_tool shell_execute",
            "approval write_file",
            "approval shell_execute",
        ]
    )

    chat = next(
        s
        for s in spans
        if s.name.startswith("chat ") and s.attributes.get("gen_ai.agent.name") == "coding"
    )
    for key in ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
                "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                "gen_ai.response.finish_reasons", "opsbot.time_to_first_token_ms"):  # fmt: skip
        assert key in chat.attributes, key
    shell = next(
        s
        for s in spans
        if s.name == "execute_tool shell_execute" and "gen_ai.tool.call.id" in s.attributes
    )
    assert shell.attributes["opsbot.tool.risk"] in ("critical",)
    assert shell.attributes["opsbot.tool.outcome"] == "ok"
    approval = next(s for s in spans if s.name == "approval shell_execute")
    assert approval.attributes["opsbot.approval.approver"] == "U_LEAD"
    assert approval.attributes["slack.channel_id"] == "C_INCIDENTS"
    assert all(s.parent is None or s.parent.span_id in by_id for s in spans), "no dangling parent"
    everything = json.dumps([dict(s.attributes or {}) for s in spans], default=str)
    assert "checkout is returning 500s" not in everything
    assert "SPRING24" not in everything


async def test_metrics_count_runs_tokens_tools_and_approval_waits(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, model_server.url)
    async with launched(settings, publisher, metric_reader=reader):
        approving = asyncio.create_task(approve_every_request(publisher))
        thread, message = thread_and_message("checkout is returning 500s")
        await asyncio.wait_for((await service.start_turn(thread, message)).get_result(), 60)
        approving.cancel()
        data = reader.get_metrics_data()
    points: dict[str, list[tuple[dict[str, object], float]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    value = getattr(point, "count", value)
                    points.setdefault(metric.name, []).append((dict(point.attributes), value))
    assert points["opsbot.runs"] == [({"outcome": "succeeded"}, 1)]
    tokens = dict(
        (attrs["gen_ai.token.type"], value) for attrs, value in points["gen_ai.client.token.usage"]
    )
    assert tokens["input"] > 0
    assert tokens["output"] > 0
    tools = {(a["tool"], a["outcome"]): v for a, v in points["opsbot.tool.calls"]}
    assert tools[("shell_execute", "ok")] == 1
    assert tools[("search_logs", "ok")] == 1
    waits = {a["tool"]: v for a, v in points["opsbot.approval.wait"]}
    assert waits == {"write_file": 1, "shell_execute": 1}
    assert points["opsbot.run.duration"][0][1] == 1
