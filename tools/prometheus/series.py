"""The shape of a range query's answer that the summary and the chart share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RangeSeries:
    """One series of a Prometheus range query (`resultType: matrix`).

    `points` are (unix time in seconds, value), oldest first; NaN and ±Inf stay as floats.
    Source: https://prometheus.io/docs/prometheus/latest/querying/api/#range-vectors
    """

    labels: dict[str, str]
    points: list[tuple[float, float]]

    def name(self) -> str:
        """`metric{label="value",...}` as Prometheus prints a series."""
        metric = self.labels.get("__name__", "")
        rest = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()) if k != "__name__")
        return f"{metric}{{{rest}}}" if rest or not metric else metric
