"""The latency-spike incident's generated metrics: the same bytes every time, normal before
15:12:00 UTC and spiking from that scrape on."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.metrics.incident import (
    BUCKETS,
    SPIKE_AT,
    START,
    TIMED_OUT_SHARE,
    openmetrics_lines,
    scrape_times,
    scrapes,
    write_openmetrics,
)

SPIKE = int(SPIKE_AT.timestamp())


def test_the_file_is_the_same_every_time_and_ends_with_eof(tmp_path: Path) -> None:
    first = write_openmetrics(tmp_path / "a.om").read_bytes()
    assert first == write_openmetrics(tmp_path / "b.om").read_bytes()
    assert first.endswith(b"# EOF\n")
    assert scrape_times()[0] == int(START.timestamp())
    assert len(scrape_times()) == 2 * 3600 // 15 + 1


def test_before_the_spike_nothing_is_slow_or_fails() -> None:
    over_one_second = BUCKETS.index(1.0) + 1
    before = [s for s in scrapes() if s.at < SPIKE]
    assert len(before) == (SPIKE - int(START.timestamp())) // 15
    for scrape in before:
        assert scrape.timed_out == 0
        assert sum(scrape.per_bucket[over_one_second:]) == 0


def test_the_spike_begins_exactly_at_the_stated_scrape() -> None:
    (at_spike,) = [s for s in scrapes() if s.at == SPIKE]
    assert SPIKE_AT.strftime("%H:%M:%S") == "15:12:00"
    for scrape in (s for s in scrapes() if s.at >= SPIKE):
        share = scrape.timed_out / scrape.requests
        assert abs(share - TIMED_OUT_SHARE) < 0.01
    assert at_spike.timed_out > 0


def test_the_counters_never_go_down_and_buckets_are_cumulative() -> None:
    last: dict[str, float] = {}
    by_time: dict[str, list[float]] = {}
    sample = re.compile(r"^(\S+\{[^}]*\}) (\S+) (\d+)$")
    for line in openmetrics_lines():
        if (found := sample.match(line)) is None:
            continue
        series, value = found.group(1), float(found.group(2))
        assert value >= last.get(series, 0.0), series
        last[series] = value
        if "_bucket" in series:
            by_time.setdefault(found.group(3), []).append(value)
    for values in by_time.values():
        assert values == sorted(values)
