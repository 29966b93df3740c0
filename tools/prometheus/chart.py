"""A range query drawn as a PNG for the thread: matplotlib's Agg canvas, no display, no pyplot.

Input is `RangeSeries` (tools/prometheus/series.py), the shape of Prometheus' `matrix` result
(https://prometheus.io/docs/prometheus/latest/querying/api/#range-vectors). The time axis is
UTC; the y axis has no unit (PromQL values carry none); a missing step or a NaN / ±Inf value
is a gap in the line, never a line drawn across it.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import pairwise

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from tools.base import ToolFile
from tools.prometheus.series import RangeSeries

MAX_SERIES = 8
MAX_LABEL_CHARS = 70
DAY_S = 86_400.0
"""Matplotlib's date numbers are days since its epoch, 1970-01-01 UTC (the default since 3.3)."""
WIDTH_PX, HEIGHT_PX, DPI = 1000, 480, 100
GAP_FACTOR = 1.5
"""A step longer than this many times the usual step is a gap (Prometheus leaves out the
steps where a series had no sample)."""


def chart_png(
    series: Sequence[RangeSeries], title: str, *, max_series: int = MAX_SERIES,
    width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX,
    redact: Callable[[str], str] | None = None,
) -> bytes:  # fmt: skip
    """The series as a line chart, PNG bytes of `width_px` x `height_px`.

    At most `max_series` lines (those with the highest peaks); the legend says how many were
    left out. `redact` (a run's redactor) is applied to the title and every series name drawn.
    Raises ValueError when there is nothing to draw: no series, or no finite value in any.
    """
    clean = redact or (lambda text: text)
    drawable = [s for s in series if _finite_values(s)]
    if not series:
        raise ValueError("nothing to chart: the range query returned no series")
    if not drawable:
        raise ValueError(
            f"nothing to chart: all {len(series)} series have only NaN or infinite values"
        )
    shown = sorted(drawable, key=lambda s: max(_finite_values(s)), reverse=True)[:max_series]
    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    common = _common_labels(shown)
    for one in shown:
        times, values = _with_gaps(one.points)
        label = _legend_name(one, common)
        axes.plot(times, values, linewidth=1.4, label=_short(clean(label)),
                  marker="o" if len(one.points) < 3 else None, markersize=3)  # fmt: skip
    locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.4g}"))
    axes.set_xlabel("time (UTC)")
    axes.grid(True, alpha=0.3)
    axes.set_title(_short(clean(title), 110), loc="left", fontsize=11)
    if common and len(shown) > 1:
        shared = RangeSeries(labels=common, points=[]).name()
        figure.suptitle(_short(clean(f"all: {shared}"), 140), x=0.01, ha="left", fontsize=8,
                        color="dimgray")  # fmt: skip
    left_out = len(series) - len(shown)
    legend_title = (
        f"{len(shown)} of {len(series)} series (highest peaks); {left_out} not shown"
        if left_out
        else None
    )
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                title=legend_title, title_fontsize=8)  # fmt: skip
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def chart_file(
    series: Sequence[RangeSeries], title: str, *, redact: Callable[[str], str] | None = None
) -> ToolFile:
    """`chart_png` as a `ToolFile` for `ToolResult.files` (named after the title, base64,
    with an alt text that says what is drawn and over which UTC interval)."""
    png = chart_png(series, title, redact=redact)
    clean = redact or (lambda text: text)
    times = [t for s in series for t, _ in s.points]
    span = f"from {_utc(min(times))} to {_utc(max(times))} UTC" if times else ""
    alt = f"Line chart of {len(series)} series of {title} {span}".strip()
    return ToolFile(name=f"{_slug(title)}.png", title=clean(title), alt_text=clean(alt)[:1000],
                    content_b64=base64.b64encode(png).decode("ascii"))  # fmt: skip


def _common_labels(series: Sequence[RangeSeries]) -> dict[str, str]:
    """The labels every series has with the same value (said once, not on each line)."""
    first, *rest = series
    return {k: v for k, v in first.labels.items() if all(o.labels.get(k) == v for o in rest)}


def _legend_name(series: RangeSeries, common: dict[str, str]) -> str:
    """The series' own labels, `{instance="a"}`; its whole name when it has none of its own."""
    own = {k: v for k, v in series.labels.items() if k not in common}
    if not own or len(own) == len(series.labels):
        return series.name() or "{}"
    return RangeSeries(labels=own, points=[]).name()


def _finite_values(series: RangeSeries) -> list[float]:
    return [v for _, v in series.points if math.isfinite(v)]


def _with_gaps(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Matplotlib dates and values, with a NaN wherever a step is missing (a NaN breaks a line)."""
    steps = sorted(b[0] - a[0] for a, b in pairwise(points) if b[0] > a[0])
    usual = steps[len(steps) // 2] if steps else 0.0
    times: list[float] = []
    values: list[float] = []
    previous: float | None = None
    for at, value in points:
        if previous is not None and usual and at - previous > usual * GAP_FACTOR:
            times.append((at + previous) / 2 / DAY_S)
            values.append(math.nan)
        times.append(at / DAY_S)
        values.append(value if math.isfinite(value) else math.nan)
        previous = at
    return times, values


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utc(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d %H:%M")


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-")
    return slug or "chart"
