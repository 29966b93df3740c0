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
    everything = exporter.get_finished_spans()
    assert {s.context.trace_id for s in everything} == {trace_id_for(run_id)}
    assert all(s.parent is None or s.parent.span_id in {x.context.span_id for x in everything}
               for s in everything), "no dangling parent"  # fmt: skip
    spans = [s for s in everything if s.instrumentation_scope.name == "opsbot"]

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
    recorded = json.dumps([dict(s.attributes or {}) for s in everything], default=str)
    assert "checkout is returning 500s" not in recorded
    assert "SPRING24" not in recorded
    assert "gen_ai.input.messages" not in recorded

    # DBOS's workflow and step spans: under the run's span, in the same trace.
    dbos = [s for s in everything if s.instrumentation_scope.name == "dbos-tracer"]
    workflow = next(s for s in dbos if s.name == "run_thread_turn")
    assert workflow.parent is not None
    assert workflow.parent.span_id == root.context.span_id
    steps = [s for s in dbos if s.parent and s.parent.span_id == workflow.context.span_id]
    assert {"begin_turn", "route", "llm_call", "tool_call", "request_approval", "tool_exec",
            "finish_turn"} <= {s.name for s in steps}  # fmt: skip
    assert {s.attributes["dbos.operation.workflow_id"] for s in dbos} == {run_id}
    # The Anthropic SDK's call spans nest under opsbot's chat spans.
    sdk = [s for s in everything if s.instrumentation_scope.name == "com.anthropic.sdk.python"]
    assert len(sdk) == len([s for s in spans if s.name.startswith("chat ")])
    assert all(by_id[s.parent.span_id].name.startswith("chat ") for s in sdk if s.parent)


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


async def test_content_is_recorded_only_when_asked_and_then_redacted(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    exporter = InMemorySpanExporter()
    publisher = RecordingPublisher()
    secret = "AKIA" + "Q3EGRDXN5VJ2MPLT"
    settings = make_settings(database_url, workspace, model_server.url, otel_record_content=True)
    async with launched(settings, publisher, exporter):
        approving = asyncio.create_task(approve_every_request(publisher))
        thread, message = thread_and_message(f"checkout is returning 500s, key {secret}")
        await asyncio.wait_for((await service.start_turn(thread, message)).get_result(), 60)
        approving.cancel()
    spans = [s for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "opsbot"]
    recorded = json.dumps([dict(s.attributes or {}) for s in spans], default=str)
    assert secret not in recorded
    first_chat = min((s for s in spans if s.name.startswith("chat ")), key=lambda s: s.start_time)
    inputs = json.loads(str(first_chat.attributes["gen_ai.input.messages"]))
    assert inputs[0]["role"] == "user"
    said = " ".join(part.get("content", "") for part in inputs[0]["parts"])
    assert "checkout is returning 500s, key [REDACTED" in said
    outputs = json.loads(str(first_chat.attributes["gen_ai.output.messages"]))
    assert outputs[0]["role"] == "assistant"
    shell = next(
        s for s in spans
        if s.name == "execute_tool shell_execute" and "gen_ai.tool.call.arguments" in s.attributes
    )  # fmt: skip
    assert "command" in json.loads(str(shell.attributes["gen_ai.tool.call.arguments"]))
    assert shell.attributes["gen_ai.tool.call.result"]
