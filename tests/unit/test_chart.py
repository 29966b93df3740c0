"""A range query drawn as a PNG: a real image of the asked size, gaps kept, the legend capped,
nothing to draw refused with a reason."""

from __future__ import annotations

import base64
import io
import math

import pytest
from PIL import Image

from tools.prometheus.chart import MAX_SERIES, chart_file, chart_png
from tools.prometheus.series import RangeSeries

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = 1_764_540_000.0  # 2025-11-30 22:00 UTC


def error_rate(instance: str, values: list[float], step_s: float = 30.0) -> RangeSeries:
    points = [(START + i * step_s, v) for i, v in enumerate(values)]
    return RangeSeries({"__name__": "errors:rate5m", "instance": instance}, points)


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_a_chart_is_a_png_of_the_asked_size() -> None:
    png = chart_png([error_rate("api-1", [1.0, 2.0, 3.5, 2.0])], "errors", width_px=800,
                    height_px=400)  # fmt: skip

    assert png.startswith(PNG_SIGNATURE)
    assert decoded(png).size == (800, 400)
    assert len(png) > 5_000  # lines, labels and a legend, not a blank canvas


def test_the_default_size_reads_in_a_slack_thread() -> None:
    assert decoded(chart_png([error_rate("api-1", [1.0, 2.0])], "errors")).size == (1000, 480)


@pytest.mark.parametrize(
    ("series", "reason"),
    [
        ([], "returned no series"),
        ([error_rate("api-1", [])], "only NaN or infinite"),
        ([error_rate("api-1", [math.nan, math.nan])], "only NaN or infinite"),
        ([error_rate("a", [math.inf]), error_rate("b", [-math.inf, math.nan])], "all 2 series"),
    ],
)
def test_nothing_to_draw_is_refused_with_a_reason(series: list[RangeSeries], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        chart_png(series, "errors")


def test_nan_values_and_missing_steps_are_gaps_not_errors() -> None:
    with_nan = error_rate("api-1", [1.0, math.nan, math.nan, 4.0, math.inf, 2.0])
    missing_steps = RangeSeries(
        {"instance": "api-2"}, [(START, 1.0), (START + 30, 2.0), (START + 600, 3.0)]
    )
    png = chart_png([with_nan, missing_steps], "errors with gaps")

    assert decoded(png).size == (1000, 480)


def test_a_gap_changes_the_drawing() -> None:
    """A missing stretch is left blank: the chart differs from one with the line drawn across."""
    whole = error_rate("api-1", [float(i % 7) for i in range(60)])
    gapped = RangeSeries(whole.labels, whole.points[:20] + whole.points[40:])

    assert chart_png([whole], "errors") != chart_png([gapped], "errors")


def test_many_series_are_capped_and_the_legend_says_how_many_are_left_out() -> None:
    many = [error_rate(f"api-{i}", [float(i), float(i) + 1]) for i in range(MAX_SERIES + 4)]
    capped = chart_png(many, "errors")
    only_shown = chart_png(many[4:], "errors")  # the 8 with the highest peaks, nothing left out

    assert capped != only_shown  # the same lines, plus the "8 of 12 ... 4 not shown" title
    assert decoded(capped).size == (1000, 480)


def test_a_cap_of_one_draws_the_series_with_the_highest_peak() -> None:
    low, high = error_rate("low", [1.0, 1.0]), error_rate("high", [1.0, 9.0])

    assert chart_png([low, high], "e", max_series=1) == chart_png([low, high][::-1], "e",
                                                                  max_series=1)  # fmt: skip
    assert chart_png([high], "e", max_series=1) != chart_png([low], "e", max_series=1)


def test_the_same_series_draw_the_same_bytes() -> None:
    series = [error_rate("api-1", [1.0, 5.0, 2.0])]

    assert chart_png(series, "errors") == chart_png(series, "errors")


def test_a_chart_file_carries_the_png_a_title_and_an_alt_text() -> None:
    chart = chart_file([error_rate("api-1", [1.0, 2.0, 3.0])], "Error rate: api (5m)")

    assert chart.name == "error-rate-api-5m.png"
    assert chart.title == "Error rate: api (5m)"
    assert base64.b64decode(chart.content_b64).startswith(PNG_SIGNATURE)
    assert chart.alt_text == (
        "Line chart of 1 series of Error rate: api (5m) from 2025-11-30 22:00 to "
        "2025-11-30 22:01 UTC"
    )


def test_a_chart_file_passes_its_words_through_the_redactor() -> None:
    def redact(text: str) -> str:
        return text.replace("hunter2", "[REDACTED]")

    chart = chart_file([error_rate("hunter2", [1.0, 2.0])], "errors of hunter2", redact=redact)
    unredacted = chart_file([error_rate("hunter2", [1.0, 2.0])], "errors of hunter2")

    assert "hunter2" not in chart.title + chart.alt_text
    assert chart.content_b64 != unredacted.content_b64  # the drawn title and legend too


def test_a_chart_file_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no series"):
        chart_file([], "errors")
