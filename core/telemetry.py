"""OpenTelemetry: one tracer provider per process, and one trace per run that survives restarts.

A run's trace id and its fixed spans' ids are derived from the run id, so spans written by a
process that resumed the run after a crash land in the same trace, under the same parents.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

_forced: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "opsbot_forced_ids", default=None
)


def trace_id_for(run_id: str) -> int:
    """The trace id of a run (128 bits from its id)."""
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:16], "big") or 1


def span_id_for(run_id: str, key: str) -> int:
    """The id of one of a run's fixed spans (the run itself, each agent hop)."""
    return int.from_bytes(hashlib.sha256(f"{run_id}|{key}".encode()).digest()[:8], "big") or 1


class RunIds(IdGenerator):
    """Random ids, except inside `forced_ids()` where a run's derived ids are used."""

    def generate_trace_id(self) -> int:
        """The forced trace id, or a random one."""
        forced = _forced.get()
        return forced[0] if forced else random.getrandbits(128)

    def generate_span_id(self) -> int:
        """The forced span id (once), or a random one."""
        forced = _forced.get()
        if forced and forced[1]:
            _forced.set((forced[0], 0))
            return forced[1]
        return random.getrandbits(64)


@contextlib.contextmanager
def forced_ids(trace_id: int, span_id: int) -> Iterator[None]:
    """Give the next span created here this trace id and span id."""
    token = _forced.set((trace_id, span_id))
    try:
        yield
    finally:
        _forced.reset(token)


def parent_context(run_id: str, key: str = "run") -> trace.Context:  # type: ignore[name-defined]
    """A context whose current span is one of the run's fixed spans (it may not exist yet)."""
    parent = SpanContext(
        trace_id=trace_id_for(run_id), span_id=span_id_for(run_id, key), is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )  # fmt: skip
    return trace.set_span_in_context(NonRecordingSpan(parent))


def current_traceparent() -> str | None:
    """The W3C traceparent of the span current here, or None outside any span."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def link_to(traceparent: str | None) -> list[trace.Link]:
    """A span link to the span a traceparent names (none for None or a malformed value)."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    if not traceparent:
        return []
    context = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    span_context = trace.get_current_span(context).get_span_context()
    return [trace.Link(span_context)] if span_context.is_valid else []


class Metrics:
    """opsbot's instruments: runs, durations, tokens, cost, tool calls, approval waits, 429s,
    feedback votes."""

    def __init__(self, meter: Meter) -> None:
        self.runs = meter.create_counter("opsbot.runs", description="Runs by outcome")
        self.run_duration = meter.create_histogram("opsbot.run.duration", unit="s")
        self.tokens = meter.create_counter("gen_ai.client.token.usage", unit="{token}",
                                           description="Model tokens by type")  # fmt: skip
        self.cost = meter.create_counter("opsbot.cost", unit="USD")
        self.tool_calls = meter.create_counter("opsbot.tool.calls", description="By outcome")
        self.approval_wait = meter.create_histogram("opsbot.approval.wait", unit="s")
        self.slack_rate_limited = meter.create_counter(
            "opsbot.slack.rate_limited", description="Slack 429 answers received and honoured"
        )
        self.feedback = meter.create_counter(
            "opsbot.feedback", description="Feedback votes on answers, by vote (up, down)"
        )


class _ForwardingProvider(trace.TracerProvider):
    """The process's global tracer provider: it hands out the running service's tracers.

    DBOS creates its workflow and step spans from the global provider, which OpenTelemetry lets
    a process set only once; forwarding lets each launched service (tests launch many in one
    process) route DBOS's spans into its own provider and trace.
    """

    target: TracerProvider | None = None

    def get_tracer(
        self, instrumenting_module_name: str, instrumenting_library_version: str | None = None,
        schema_url: str | None = None, attributes: Any = None,
    ) -> trace.Tracer:  # fmt: skip
        """A tracer of the current target provider, or a no-op one when none is installed."""
        target = self.target
        if target is None:
            return trace.NoOpTracer()
        return target.get_tracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )


_global = _ForwardingProvider()


def route_global_tracing(provider: TracerProvider | None) -> bool:
    """Send spans made with the global provider (DBOS's) to `provider`; None stops that.

    False when another global provider was installed first (e.g. by auto-instrumentation):
    then DBOS's spans go there and opsbot leaves it alone.
    """
    current = trace.get_tracer_provider()
    if current is not _global:
        if not isinstance(current, trace.ProxyTracerProvider):
            return False
        trace.set_tracer_provider(_global)
    _global.target = provider
    return True


@dataclass
class Telemetry:
    """The providers, the tracer and the instruments opsbot reports through.

    `exporting` says whether spans go anywhere; with no exporter, DBOS's spans stay off.
    """

    provider: TracerProvider
    meter_provider: MeterProvider
    exporting: bool = False

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.meter_provider.get_meter("opsbot"))

    @property
    def tracer(self) -> trace.Tracer:
        """opsbot's tracer."""
        return self.provider.get_tracer("opsbot")

    def shutdown(self) -> None:
        """Flush and stop exporting."""
        if _global.target is self.provider:
            _global.target = None
        self.provider.shutdown()
        self.meter_provider.shutdown()


def setup_telemetry(
    service_name: str, version: str, executor_id: str, endpoint: str | None,
    console: bool = False, extra: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> Telemetry:  # fmt: skip
    """A tracer provider: OTLP/HTTP when an endpoint is set, console on request, else no export."""
    resource = Resource.create({
        "service.name": service_name, "service.version": version,
        "service.instance.id": executor_id, "opsbot.executor_id": executor_id,
    })  # fmt: skip
    provider = TracerProvider(resource=resource, id_generator=RunIds())
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        traces = endpoint.rstrip("/") + "/v1/traces"
        if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            traces = os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    if console:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    if extra is not None:
        provider.add_span_processor(SimpleSpanProcessor(extra))
    readers: list[MetricReader] = [metric_reader] if metric_reader is not None else []
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        metrics_url = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or (
            endpoint.rstrip("/") + "/v1/metrics"
        )
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=metrics_url)))
    exporting = bool(endpoint or console or extra is not None)
    return Telemetry(provider, MeterProvider(resource=resource, metric_readers=readers), exporting)
