"""PromQL queries: `prometheus_query` (one instant) and `prometheus_query_range` (a window,
summarised per series). API: https://prometheus.io/docs/prometheus/latest/querying/api/"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError, WithFiles
from tools.prometheus.client import PrometheusApi
from tools.prometheus.series import RangeSeries
from tools.prometheus.summary import instant_result, left_out, matrix_series, series_summary
from tools.prometheus.times import (
    DURATION_HELP,
    TIME_HELP,
    api_time,
    duration_text,
    parse_duration,
    parse_time,
    rfc3339,
)

INSTANT_SERIES_LIMIT = 50
RANGE_SERIES_LIMIT = 20
TARGET_POINTS = 300
"""A range query without a step gets one that makes at most this many points per series."""
MAX_POINTS = 11_000
"""Prometheus refuses more points per series than this."""
NOTHING_MATCHED = (
    "no series matched: the metric or label may not exist or had no samples then; find names "
    "with prometheus_label_values or prometheus_series"
)


def prometheus_of(ctx: ToolContext) -> PrometheusApi:
    """The configured Prometheus, or `ToolError` saying how to configure one."""
    if ctx.prometheus is None:
        raise ToolError("no Prometheus is configured (set OPSBOT_PROMETHEUS_URL)")
    return ctx.prometheus


class PrometheusQueryInput(BaseModel):
    """An instant PromQL query."""

    query: str = Field(min_length=1, description="PromQL expression, e.g. "
                       'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))')  # fmt: skip
    time: str | float | None = Field(
        default=None, description=f"Evaluation time: {TIME_HELP}. Default: now."
    )


async def prometheus_query(args: PrometheusQueryInput, ctx: ToolContext) -> dict[str, Any]:
    """The query's value at one time: labels and value per series (at most 50, with a note of
    how many were left out); PromQL errors verbatim as `ToolError`."""
    api = prometheus_of(ctx)
    params = [("query", args.query)]
    if args.time is not None:
        params.append(("time", api_time(parse_time(args.time, time.time(), "time"))))
    data, warnings = await api.data("POST", "/api/v1/query", params)
    answer = instant_result(data, INSTANT_SERIES_LIMIT)
    if answer.get("series_count") == 0:
        answer["note"] = NOTHING_MATCHED
    if warnings:
        answer["warnings"] = warnings
    return answer


class PrometheusQueryRangeInput(BaseModel):
    """A PromQL query over a time window."""

    query: str = Field(min_length=1, description="PromQL expression; use rate() for counters")
    start: str | float = Field(default="now-1h", description=f"Window start: {TIME_HELP}")
    end: str | float = Field(default="now", description=f"Window end: {TIME_HELP}")
    step: str | float | None = Field(
        default=None,
        description=f"Resolution, {DURATION_HELP}. Default: the window / {TARGET_POINTS}.",
    )
    chart: bool = Field(
        default=False,
        description="Also post this query as a chart (PNG) into the Slack thread for people. "
        "Use it once, for the query that shows the problem best; the model does not see it.",
    )


@dataclass(frozen=True)
class RangeWindow:
    """A range query's window in unix seconds and its step in seconds."""

    start: float
    end: float
    step: float

    @classmethod
    def of(cls, start: str | float, end: str | float, step: str | float | None) -> RangeWindow:
        """The window the inputs name; `ToolError` for bad times, an empty window or too
        many points."""
        now = time.time()
        first, last = parse_time(start, now, "start"), parse_time(end, now, "end")
        if last <= first:
            raise ToolError(f"end ({rfc3339(last)}) must be after start ({rfc3339(first)})")
        span = last - first
        seconds = parse_duration(step, "step") if step is not None else None
        if seconds is None:
            seconds = max(1.0, float(math.ceil(span / TARGET_POINTS)))
        if span / seconds > MAX_POINTS:
            raise ToolError(f"step={step!r} makes {span / seconds:.0f} points per series over "
                            f"{duration_text(span)}; Prometheus allows {MAX_POINTS}: use a "
                            "larger step or leave it out")  # fmt: skip
        return cls(first, last, seconds)


async def range_query(api: PrometheusApi, query: str, window: RangeWindow) -> list[RangeSeries]:
    """Every series of `query` over `window` with its points (what a chart draws)."""
    series, _ = await _range(api, query, window)
    return series


async def _range(
    api: PrometheusApi, query: str, window: RangeWindow
) -> tuple[list[RangeSeries], list[str]]:
    params = [("query", query), ("start", api_time(window.start)),
              ("end", api_time(window.end)), ("step", api_time(window.step))]  # fmt: skip
    data, warnings = await api.data("POST", "/api/v1/query_range", params)
    return matrix_series(data), warnings


async def query_range_answer(
    args: PrometheusQueryRangeInput, ctx: ToolContext
) -> tuple[dict[str, Any], list[RangeSeries]]:
    """The summary the model reads and the series behind it (for a chart)."""
    api = prometheus_of(ctx)
    window = RangeWindow.of(args.start, args.end, args.step)
    series, warnings = await _range(api, args.query, window)
    answer: dict[str, Any] = {
        "start": rfc3339(window.start), "end": rfc3339(window.end),
        "step": duration_text(window.step), "series_count": len(series),
        "series": [series_summary(one) for one in series[:RANGE_SERIES_LIMIT]],
    }  # fmt: skip
    if not series:
        answer["note"] = NOTHING_MATCHED
    elif len(series) > RANGE_SERIES_LIMIT:
        answer["note"] = left_out(len(series), RANGE_SERIES_LIMIT)
    if warnings:
        answer["warnings"] = warnings
    return answer, series


async def prometheus_query_range(
    args: PrometheusQueryRangeInput, ctx: ToolContext
) -> dict[str, Any] | WithFiles:
    """Per series: labels, min / max / mean / last, first and last sample time and its largest
    change (when, before, after); never the raw points. At most 20 series, with a note. With
    `chart`, the series drawn as a PNG for the thread (`WithFiles`); `chart_posted` says so."""
    answer, series = await query_range_answer(args, ctx)
    if not args.chart:
        return answer
    from tools.prometheus.chart import chart_file  # matplotlib loads only when drawing

    title = f"{args.query} ({answer['start']} to {answer['end']})"
    try:
        chart = chart_file(series, title, redact=ctx.redactor.redact)
    except ValueError as nothing:
        return {**answer, "chart_posted": False, "chart_note": str(nothing)}
    return WithFiles({**answer, "chart_posted": True}, (chart,))


QUERY_TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "prometheus_query",
        "Evaluate a PromQL expression at one instant (default now) in Prometheus: the current "
        "value per series, e.g. error rate by job, targets down (up == 0), saturation. Use it for "
        "'how bad is it now'; use prometheus_query_range for 'since when'. Returns labels and "
        "value per series (at most 50); PromQL errors come back verbatim.",
        PrometheusQueryInput, Risk.READ, prometheus_query,
    ),
    Tool(
        "prometheus_query_range",
        "Evaluate a PromQL expression over a time window (default the last hour) to see when a "
        "problem began and how it evolved. Returns a summary per series, never raw points: "
        "labels, min / max / mean / last value, first and last sample time, and the largest "
        "change between two samples (its time, value before and after), which usually marks "
        "the start of an incident. At most 20 series: aggregate (sum by (...)) or use topk.",
        PrometheusQueryRangeInput, Risk.READ, prometheus_query_range,
    ),
)  # fmt: skip
