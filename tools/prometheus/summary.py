"""What the model reads of a query's answer: values and per-series summaries, never raw points.

Result shapes: https://prometheus.io/docs/prometheus/latest/querying/api/#expression-query-result-formats
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from tools.base import ToolError
from tools.prometheus.series import RangeSeries
from tools.prometheus.times import rfc3339


def number(value: float) -> float | str:
    """A sample value for JSON: a float rounded to 6 significant digits, or "NaN" / "+Inf" /
    "-Inf" as Prometheus writes them (JSON has no such numbers)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return float(f"{value:.6g}")


def sample(pair: Any) -> tuple[float, float]:
    """`[unix_time, "value"]` of the API as (seconds, float)."""
    try:
        return float(pair[0]), float(pair[1])
    except (TypeError, ValueError, IndexError):
        raise ToolError(
            f"Prometheus answered a sample that is not [time, value]: {pair!r}"
        ) from None


def matrix_series(data: Any) -> list[RangeSeries]:
    """The series of a range query's `data` (`resultType: matrix`)."""
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise ToolError(f"Prometheus answered a {kind} to a range query, not a matrix")
    return [
        RangeSeries(labels=dict(item.get("metric", {})),
                    points=[sample(pair) for pair in item.get("values", [])])
        for item in data.get("result", [])
    ]  # fmt: skip


def instant_result(data: Any, limit: int) -> dict[str, Any]:
    """An instant query's `data` for the model: its type, the evaluation time and each
    series' labels and value (at most `limit` series, with how many were left out)."""
    if not isinstance(data, dict) or "resultType" not in data:
        raise ToolError(f"Prometheus answered an instant query without a resultType: {data!r}")
    kind, result = data["resultType"], data.get("result") or []
    if kind == "scalar":
        at, value = sample(result)
        return {"result_type": kind, "time": rfc3339(at), "value": number(value)}
    if kind == "string":
        at, _ = sample([result[0], 0])
        return {"result_type": kind, "time": rfc3339(at), "value": str(result[1])}
    items = result if isinstance(result, list) else []
    rows: list[dict[str, Any]] = []
    when: float | None = None
    for item in items[:limit]:
        if kind == "vector":
            when, value = sample(item.get("value"))
            rows.append({"labels": item.get("metric", {}), "value": number(value)})
        else:  # a matrix: a range selector like rate_total[5m] evaluated at one time
            points = [sample(pair) for pair in item.get("values", [])]
            rows.append({"labels": item.get("metric", {}),
                         "values": [[rfc3339(t), number(v)] for t, v in points[-20:]],
                         "samples": len(points)})  # fmt: skip
    answer: dict[str, Any] = {"result_type": kind, "series_count": len(items)}
    if when is not None:
        answer["time"] = rfc3339(when)
    answer["series"] = rows
    if len(items) > limit:
        answer["note"] = left_out(len(items), limit)
    return answer


def left_out(total: int, shown: int) -> str:
    """The note on a capped list of series."""
    return (f"{total - shown} of {total} series left out (showing the first {shown}); narrow "
            "the selector or aggregate, e.g. sum by (job) (...) or topk(10, ...)")  # fmt: skip


def series_summary(series: RangeSeries) -> dict[str, Any]:
    """One range series for the model: labels, sample count, first and last time, min, max,
    mean and last value (over the finite values), and its largest change between two
    consecutive samples (`largest_change`: when, before, after), or None when it never moved."""
    points = series.points
    finite = [(t, v) for t, v in points if math.isfinite(v)]
    summary: dict[str, Any] = {"labels": series.labels, "samples": len(points)}
    if not points:
        return summary
    summary["first_time"] = rfc3339(points[0][0])
    summary["last_time"] = rfc3339(points[-1][0])
    if finite:
        values = [v for _, v in finite]
        summary["min"], summary["max"] = number(min(values)), number(max(values))
        summary["mean"], summary["last"] = number(sum(values) / len(values)), number(points[-1][1])
    summary["largest_change"] = largest_change(finite)
    return summary


def largest_change(points: list[tuple[float, float]]) -> dict[str, Any] | None:
    """The largest absolute change between consecutive samples: the time of the later sample,
    the value before and after; None with fewer than two samples or no change at all."""
    best: tuple[float, float, float, float] | None = None
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if best is None or abs(v1 - v0) > abs(best[3] - best[2]):
            best = (t0, t1, v0, v1)
    if best is None or best[3] == best[2]:
        return None
    since, at, before, after = best
    return {"at": rfc3339(at), "previous_sample_at": rfc3339(since),
            "before": number(before), "after": number(after)}  # fmt: skip
