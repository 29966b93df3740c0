"""The engine's public face: launch it, start a turn, submit an approval decision, stop it."""

from __future__ import annotations

import logging
import time
from typing import Any

from dbos import (
    DBOS,
    DBOSConfig,
    PropagateOtelContext,
    SetEnqueueOptions,
    SetWorkflowID,
    WorkflowHandleAsync,
)
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy import select

from agents import approvals, audit, runtime
from agents.approval_rules import ApprovalRules
from agents.changes import ChangeSetup, load_change_setup
from agents.engine import Engine
from agents.events import RunFinished, RunResumed
from agents.llm import LlmClient
from agents.model_client import make_client, model_features
from agents.ordering import order_hold, thread_order
from agents.outputs import DatabaseOutputs
from agents.publisher import Publisher
from agents.specs import AGENT_NAMES, default_agents
from agents.tool_setup import load_confinement, load_mcp_servers, load_policy, load_redactor
from agents.versioning import APP_VERSION
from core import faults, migrate
from core.db import Database, make_engine, plain_url
from core.errors import ConfigError
from core.settings import Settings
from core.telemetry import (
    current_traceparent,
    parent_context,
    route_global_tracing,
    setup_telemetry,
)
from core.types import IncomingMessage, ThreadRef
from tools.base import ToolContext
from tools.mcp.hub import McpHub
from tools.prometheus.client import AlertmanagerApi, PrometheusApi
from tools.registry import default_tools

QUEUE = "threads"
APP_NAME = "opsbot"
MAX_EXECUTOR_THREADS = 32

log = logging.getLogger(__name__)


def dbos_config(settings: Settings, tracing: bool = False) -> DBOSConfig:
    """DBOS settings: pinned version, stable executor id, bounded threads.

    With `tracing`, DBOS's workflow and step spans are made (through the global provider,
    which opsbot routes to its own) under the run's trace; DBOS exports nothing itself.
    """
    return {
        "name": APP_NAME,
        "system_database_url": plain_url(settings.database_url),
        "application_version": APP_VERSION,
        "executor_id": settings.executor_id,
        "max_executor_threads": MAX_EXECUTOR_THREADS,
        "notification_listener_polling_interval_sec": settings.poll_interval_s,
        "log_level": "WARNING",
        "enable_otlp": tracing,
        "otel_attribute_format": "semconv",
    }


class _NoLogExportNotice(logging.Filter):
    """Drop DBOS's notice that it exports no logs: opsbot exports traces and metrics only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "logger provider not set" not in record.getMessage()


_LOG_EXPORT_NOTICE = _NoLogExportNotice()


def build_engine(
    settings: Settings, publisher: Publisher, database: Database,
    span_exporter: SpanExporter | None = None, metric_reader: MetricReader | None = None,
    mcp: McpHub | None = None, changes: ChangeSetup | None = None,
) -> Engine:  # fmt: skip
    """Wire the engine's dependencies from settings (and the started MCP servers and
    pull-request mode's repository)."""
    redactor = load_redactor(settings)
    policy = load_policy(settings)
    telemetry = setup_telemetry(
        settings.otel_service_name, APP_VERSION, settings.executor_id,
        settings.otel_exporter_otlp_endpoint, settings.otel_console, span_exporter, metric_reader,
    )  # fmt: skip
    client = make_client(settings, telemetry.provider, telemetry.exporting)
    tools = default_tools(more=mcp.get if mcp is not None else None)
    confinement, sandbox_line = load_confinement(settings)
    return Engine(
        settings=settings,
        db=database,
        llm=LlmClient(
            client,
            redactor,
            settings.max_concurrent_model_calls,
            caching="prompt-caching" in model_features(settings),
        ),
        tools=tools,
        agents=default_agents(tools, settings, mcp, pull_requests=changes is not None),
        mcp=mcp,
        changes=changes,
        publisher=publisher,
        telemetry=telemetry,
        tool_ctx=ToolContext(
            workspace=settings.workspace,
            log_sources=tuple(settings.log_sources),
            output_cap=settings.tool_output_cap,
            shell_timeout_s=settings.shell_timeout_s,
            redactor=redactor,
            policy=policy,
            outputs=DatabaseOutputs(database),
            confinement=confinement,
            kubeconfig=settings.kubeconfig,
            prometheus=prometheus_api(settings),
            alertmanager=alertmanager_api(settings),
        ),
        sandbox=sandbox_line,
    )


def prometheus_api(settings: Settings) -> PrometheusApi | None:
    """The Prometheus of OPSBOT_PROMETHEUS_URL (and its token), or None when unset."""
    if settings.prometheus_url is None:
        return None
    return PrometheusApi.from_url(
        settings.prometheus_url, settings.prometheus_token, settings.metrics_timeout_s
    )


def alertmanager_api(settings: Settings) -> AlertmanagerApi | None:
    """The Alertmanager of OPSBOT_ALERTMANAGER_URL (and its API token), or None when unset."""
    if settings.alertmanager_url is None:
        return None
    return AlertmanagerApi.from_url(
        settings.alertmanager_url, settings.alertmanager_api_token, settings.metrics_timeout_s
    )


async def launch(
    settings: Settings, publisher: Publisher, span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> Engine:  # fmt: skip
    """Migrate the database, launch DBOS on the running loop and register the thread queue.

    Paused and interrupted runs of this executor resume here (DBOS recovery).
    """
    import agents.workflow  # noqa: F401  (registers the workflow before DBOS launches)

    try:
        faults.arm(settings.fault)
    except ValueError as error:
        raise ConfigError("OPSBOT_FAULT", str(error)) from None
    database = Database(make_engine(settings.database_url))
    changes = await load_change_setup(settings)
    mcp = await start_mcp(settings)
    try:
        engine = build_engine(settings, publisher, database, span_exporter, metric_reader, mcp,
                              changes)  # fmt: skip
        migrate.upgrade(database.engine)
    except BaseException:
        if mcp is not None:
            await mcp.close()
        raise
    runtime.install(engine)
    tracing = engine.telemetry.exporting and route_global_tracing(engine.telemetry.provider)
    logging.getLogger("dbos").addFilter(_LOG_EXPORT_NOTICE)
    DBOS(config=dbos_config(settings, tracing))
    DBOS.launch()
    await mark_resumed(engine, settings.executor_id)
    await DBOS.register_queue_async(QUEUE, partition_concurrency=1, polling_interval_sec=0.2)
    await redeliver_decisions(engine)
    return engine


async def start_mcp(settings: Settings) -> McpHub | None:
    """Connect the MCP servers of OPSBOT_MCP_CONFIG (None when it names none); a server that
    does not connect is reported in its start line, never fatal. Raises ConfigError for a bad
    file."""
    servers = load_mcp_servers(settings, AGENT_NAMES)
    if not servers:
        return None
    hub = McpHub(servers, version=APP_VERSION)
    await hub.start()
    return hub


def tracer() -> trace.Tracer:
    """The running engine's tracer, for spans of the adapters (e.g. the Slack listeners)."""
    return runtime.current_engine().telemetry.tracer


async def stop() -> None:
    """Close the model client's connections, then `shutdown()` (safe to call twice)."""
    engine = runtime._engine
    if engine is not None:
        await engine.llm.client.close()
        if engine.mcp is not None:
            await engine.mcp.close()
    shutdown()


def shutdown() -> None:
    """Stop DBOS and release the engine (safe to call twice)."""
    engine = runtime._engine
    DBOS.destroy(destroy_registry=False)
    runtime.install(None)
    if engine is not None:
        engine.telemetry.shutdown()
        engine.db.dispose()


async def start_turn(thread: ThreadRef, message: IncomingMessage) -> WorkflowHandleAsync[str]:
    """Enqueue the run for one message; the same message twice yields the same run."""
    from agents.workflow import run_thread_turn

    run_id = message.run_id(thread)
    if message.origin_trace is None:
        message = message.model_copy(update={"origin_trace": current_traceparent()})
    options = SetEnqueueOptions(
        queue_partition_key=thread.key, priority=thread_order(thread, message),
        delay_seconds=order_hold(thread, message, time.time()),
    )  # fmt: skip
    # DBOS keeps this context with the workflow: its spans join the run's trace after a
    # queue hand-off and after recovery in another process alike.
    with SetWorkflowID(run_id), options, PropagateOtelContext(parent_context(run_id)):
        return await DBOS.enqueue_workflow_async(QUEUE, run_thread_turn, thread, message)


async def submit_decision(
    approval_id: str, approved: bool, approver: str, reason: str | None = None,
    *, approvals_needed: int = 1,
) -> approvals.DecisionResult:  # fmt: skip
    """Decide an approval once (compare-and-set), audit it, and wake the waiting run.

    How many approvers it needs comes from the approval row and the configured two-person
    rule (`approvals.decide`); `approvals_needed` can only raise that, never lower it.
    A second, late or unknown decision returns a typed outcome and changes nothing.
    """
    engine = runtime.current_engine()
    two_person_for = ApprovalRules.from_settings(engine.settings).two_person_for

    def decide_and_audit(session: Any) -> approvals.DecisionResult:
        result = approvals.decide(
            session, approval_id, approved, approver, reason, time.time(), approvals_needed,
            two_person_for=two_person_for,
        )  # fmt: skip
        audit.add(session, action="approve" if approved else "reject",
                  outcome=result.outcome.value, actor=approver, approval_id=approval_id,
                  run_id=result.run_id, detail=reason)  # fmt: skip
        return result

    result = await engine.db.run(decide_and_audit)
    if result.outcome is approvals.DecisionOutcome.ACCEPTED and result.run_id is not None:
        faults.point("between_cas_and_send")
        message = {"status": result.status, "decided_by": approver, "reason": reason}
        await _deliver(engine, result.run_id, approval_id, message)
    return result


async def _deliver(engine: Engine, run_id: str, approval_id: str, message: dict[str, Any]) -> None:
    await DBOS.send_async(
        run_id, message, topic=approvals.topic_for(approval_id),
        idempotency_key=f"decision:{approval_id}",
    )  # fmt: skip
    await engine.db.run(lambda s: approvals.mark_delivered(s, approval_id))


async def mark_resumed(engine: Engine, executor_id: str) -> None:
    """Runs of this executor left unfinished by a dead process: count the resume, tell threads."""
    from core.models import RunRow

    unfinished = await engine.db.run(
        lambda s: s.scalars(
            select(RunRow.id).where(RunRow.status.in_(("running", "waiting_approval")))
        ).all()
    )
    if not unfinished:
        return
    statuses = await DBOS.list_workflows_async(
        workflow_ids=list(unfinished), load_input=False, load_output=False
    )
    live = ("PENDING", "ENQUEUED", "DELAYED")
    mine = [
        w.workflow_id for w in statuses if w.executor_id in (executor_id, None) and w.status in live
    ]

    def count(session: Any) -> None:
        for run_id in mine:
            row = session.get(RunRow, run_id)
            if row is not None:
                row.resumed_count = (row.resumed_count or 0) + 1

    await engine.db.run(count)
    for run_id in mine:
        await engine.publish(RunResumed(run_id=run_id))


async def redeliver_decisions(engine: Engine) -> None:
    """Send decisions recorded before a crash that may never have reached their run."""
    for run_id, approval_id, message in await engine.db.run(approvals.undelivered_decisions):
        log.info("redelivering decision on approval %s to %s", approval_id, run_id)
        await _deliver(engine, run_id, approval_id, message)


async def cancel_run(run_id: str, by: str) -> str:
    """Cancel a run; a run waiting for approval is woken (its approvals are rejected)."""
    from sqlalchemy import select

    from core.models import ApprovalRow, RunRow

    engine = runtime.current_engine()
    run = await engine.db.run(lambda s: s.get(RunRow, run_id))
    if run is None:
        return f"No run {run_id}."
    if run.status not in ("running", "waiting_approval"):
        return f"Run {run_id} already ended ({run.status})."
    await DBOS.cancel_workflow_async(run_id)
    pending = await engine.db.run(
        lambda s: s.scalars(
            select(ApprovalRow.id).where(
                ApprovalRow.run_id == run_id, ApprovalRow.status == approvals.PENDING
            )
        ).all()
    )
    for approval_id in pending:
        await submit_decision(approval_id, False, by, "the run was cancelled")

    def mark(session: Any) -> RunFinished:
        row = session.get(RunRow, run_id)
        now = time.time()
        if row is not None:
            row.status, row.outcome, row.finished_at = "cancelled", "cancelled", now
            row.limit_reason = f"cancelled by {by}"
        audit.add(session, action="cancel", outcome="accepted", actor=by, run_id=run_id)
        return RunFinished(
            run_id=run_id, outcome="cancelled", answer="", limit=None, stopped_by=by,
            input_tokens=row.input_tokens if row else 0,
            output_tokens=row.output_tokens if row else 0,
            cost_usd=row.cost_usd if row else 0.0,
            duration_s=round(now - row.started_at, 3) if row else 0.0,
        )  # fmt: skip

    finished = await engine.db.run(mark)
    await engine.publish(finished)  # its workflow, cancelled, never says it ended
    return f"Run {run_id} cancelled."
