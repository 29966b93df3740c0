"""What Prometheus knows: series and label values (metric names), and its alerting rules.

API: https://prometheus.io/docs/prometheus/latest/querying/api/#querying-metadata and
https://prometheus.io/docs/prometheus/latest/querying/api/#rules
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError
from tools.prometheus.client import path_segment
from tools.prometheus.queries import prometheus_of
from tools.prometheus.summary import number
from tools.prometheus.times import TIME_HELP, api_time, duration_text, parse_time

_STATE_ORDER = {"firing": 0, "pending": 1, "inactive": 2}
ALERTS_PER_RULE = 10


class PrometheusSeriesInput(BaseModel):
    """Series matching selectors."""

    match: list[str] = Field(
        min_length=1,
        description="Series selectors, e.g. ['http_requests_total{job=\"api\"}']; a series "
        "matching any of them is listed",
    )
    start: str | float = Field(default="now-1h", description=f"Window start: {TIME_HELP}")
    end: str | float = Field(default="now", description=f"Window end: {TIME_HELP}")
    limit: int = Field(default=100, ge=1, le=1000, description="At most this many series")


def _window(start: str | float, end: str | float) -> list[tuple[str, str]]:
    now = time.time()
    first, last = parse_time(start, now, "start"), parse_time(end, now, "end")
    if last < first:
        raise ToolError("end must not be before start")
    return [("start", api_time(first)), ("end", api_time(last))]


async def prometheus_series(args: PrometheusSeriesInput, ctx: ToolContext) -> dict[str, Any]:
    """The label sets of the series the selectors match in the window (at most `limit`)."""
    api = prometheus_of(ctx)
    params = [*(("match[]", selector) for selector in args.match), *_window(args.start, args.end)]
    data, warnings = await api.data("POST", "/api/v1/series", params)
    found = data if isinstance(data, list) else []
    answer: dict[str, Any] = {"series_count": len(found), "series": found[: args.limit]}
    if len(found) > args.limit:
        answer["note"] = (f"{len(found) - args.limit} of {len(found)} series left out; use a "
                          "narrower selector or prometheus_label_values")  # fmt: skip
    elif not found:
        answer["note"] = "no series matched in the window"
    if warnings:
        answer["warnings"] = warnings
    return answer


class PrometheusLabelValuesInput(BaseModel):
    """Values of one label (metric names by default)."""

    label: str = Field(default="__name__", min_length=1,
                       description="Label name; __name__ (default) lists metric names")  # fmt: skip
    match: list[str] = Field(
        default_factory=list,
        description="Only series matching any of these selectors, e.g. "
        "['{job=\"api\"}', '{__name__=~\"http_.*\"}']",
    )
    start: str | float = Field(default="now-1h", description=f"Window start: {TIME_HELP}")
    end: str | float = Field(default="now", description=f"Window end: {TIME_HELP}")
    limit: int = Field(default=200, ge=1, le=2000, description="At most this many values")


async def prometheus_label_values(
    args: PrometheusLabelValuesInput, ctx: ToolContext
) -> dict[str, Any]:
    """The values of `label` (sorted, at most `limit`) among series in the window."""
    api = prometheus_of(ctx)
    params = [*(("match[]", selector) for selector in args.match), *_window(args.start, args.end)]
    path = f"/api/v1/label/{path_segment(args.label)}/values"
    data, warnings = await api.data("GET", path, params)
    values = [str(value) for value in data] if isinstance(data, list) else []
    answer: dict[str, Any] = {"label": args.label, "count": len(values),
                              "values": values[: args.limit]}  # fmt: skip
    if len(values) > args.limit:
        answer["note"] = (f"{len(values) - args.limit} of {len(values)} values left out; add "
                          "a match selector to narrow them")  # fmt: skip
    if warnings:
        answer["warnings"] = warnings
    return answer


class PrometheusRulesInput(BaseModel):
    """Alerting rules and their state."""

    state: Literal["firing", "pending", "inactive"] | None = Field(
        default=None, description="Only rules in this state; default: all"
    )
    name: str | None = Field(default=None, description="Only rules whose name contains this")
    limit: int = Field(default=50, ge=1, le=500, description="At most this many rules")


def _value(text: Any) -> float | str | None:
    """An alert's value ("1e+01" in the API) as a number where it is one."""
    try:
        return number(float(text))
    except (TypeError, ValueError):
        return None if text is None else str(text)


def _rule(group: str, rule: dict[str, Any]) -> dict[str, Any]:
    alerts = rule.get("alerts") or []
    shown: dict[str, Any] = {
        "name": rule.get("name"), "group": group, "state": rule.get("state"),
        "expr": rule.get("query"), "for": duration_text(float(rule.get("duration") or 0)),
        "labels": rule.get("labels") or {}, "annotations": rule.get("annotations") or {},
        "health": rule.get("health"),
        "alerts": [{"labels": a.get("labels"), "state": a.get("state"),
                    "active_at": a.get("activeAt"), "value": _value(a.get("value"))}
                   for a in alerts[:ALERTS_PER_RULE]],
    }  # fmt: skip
    if len(alerts) > ALERTS_PER_RULE:
        shown["alerts_left_out"] = len(alerts) - ALERTS_PER_RULE
    if rule.get("lastError"):
        shown["last_error"] = rule["lastError"]
    return shown


async def prometheus_rules(args: PrometheusRulesInput, ctx: ToolContext) -> dict[str, Any]:
    """The alerting rules, firing first, then pending, then inactive: expression, `for`,
    labels, annotations and active alerts; with how many rules are in each state."""
    api = prometheus_of(ctx)
    data, _ = await api.data("GET", "/api/v1/rules", [("type", "alert")])
    groups = data.get("groups", []) if isinstance(data, dict) else []
    rules = [_rule(str(g.get("name")), rule) for g in groups for rule in g.get("rules", [])]
    counts = {state: sum(r["state"] == state for r in rules) for state in _STATE_ORDER}
    chosen = [r for r in rules
              if (args.state is None or r["state"] == args.state)
              and (args.name is None or args.name.lower() in str(r["name"]).lower())]  # fmt: skip
    chosen.sort(key=lambda r: _STATE_ORDER.get(str(r["state"]), 3))
    answer: dict[str, Any] = {"rules_by_state": counts, "matching": len(chosen),
                              "rules": chosen[: args.limit]}  # fmt: skip
    if len(chosen) > args.limit:
        answer["note"] = f"{len(chosen) - args.limit} rules left out; filter by state or name"
    return answer


DISCOVERY_TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "prometheus_series",
        "List the series (full label sets) that PromQL selectors match in Prometheus, e.g. "
        "match=['http_requests_total{job=\"api\"}'], to learn which labels and values a metric "
        "has before querying it. At most `limit` series, with how many matched.",
        PrometheusSeriesInput, Risk.READ, prometheus_series,
    ),
    Tool(
        "prometheus_label_values",
        "List the values of one label in Prometheus. With the default label __name__ it lists "
        "metric names: start here when you do not know what a service exports (narrow with "
        "match, e.g. ['{job=\"api\"}']). With label='instance' or 'job' it lists those.",
        PrometheusLabelValuesInput, Risk.READ, prometheus_label_values,
    ),
    Tool(
        "prometheus_rules",
        "List Prometheus' alerting rules with their state (firing, pending, inactive), "
        "expression, `for` duration, labels, annotations (summary, runbook) and active alerts "
        "with their values and since when. Use it to see what is alerting and what an alert "
        "measures; its expr is a good first query.",
        PrometheusRulesInput, Risk.READ, prometheus_rules,
    ),
)  # fmt: skip
