"""The latency-spike incident's metrics as an OpenMetrics text file, the same bytes every time.

`cart-api` serves about 80 requests/s at a p99 near 0.3 s from 14:00 to 16:00 UTC on
2026-11-24. From the scrape at exactly 15:12:00 UTC on (`SPIKE_AT`) its Redis cache is cold
after a failover: 30 % of requests hit the 5 s upstream timeout and answer 504, the rest are
slow. Series, scraped every 15 s:

- `http_request_duration_seconds` (histogram: `_bucket{le}`, `_sum`, `_count`)
- `http_requests_total{code="200"|"504"}` (counter)

both with `service="cart-api"` and `instance="cart-api-5d8f"`. A sample at time t counts the
requests of the 15 s before t; it is "bad" when t >= `SPIKE_AT`. The file is what
`promtool tsdb create-blocks-from openmetrics` reads
(https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SERVICE = "cart-api"
INSTANCE = "cart-api-5d8f"
START = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
SPIKE_AT = datetime(2026, 11, 24, 15, 12, tzinfo=UTC)
END = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
SCRAPE_INTERVAL_S = 15
REQUESTS_PER_S = 80.0
TIMEOUT_S = 5.0
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the histogram's finite buckets; +Inf follows."""
NORMAL = (0.45, 0.85, 0.985, 0.997, 1.0, 1.0, 1.0, 1.0)
"""Cumulative share of requests at or below each bucket before the spike (p99 ~ 0.3 s)."""
SPIKE = (0.02, 0.06, 0.14, 0.25, 0.40, 0.58, 0.70, 1.0)
"""After it: 30 % take longer than the 5 s timeout (answered 504 at ~5.0 s)."""
TIMED_OUT_SHARE = 1.0 - SPIKE[BUCKETS.index(TIMEOUT_S)]
SEED = 2411
LABELS = f'instance="{INSTANCE}",service="{SERVICE}"'


@dataclass(frozen=True)
class Scrape:
    """What one scrape at `at` (unix seconds) adds to the counters: requests per bucket (not
    cumulative; the last is above the largest bound), their summed seconds and 504s."""

    at: int
    per_bucket: tuple[int, ...]
    seconds: float
    timed_out: int

    @property
    def requests(self) -> int:
        """Requests in the 15 s before `at`."""
        return sum(self.per_bucket)


def scrape_times() -> list[int]:
    """Unix seconds of every scrape, START to END inclusive."""
    first, last = int(START.timestamp()), int(END.timestamp())
    return list(range(first, last + 1, SCRAPE_INTERVAL_S))


def _split(total: int, cumulative: tuple[float, ...]) -> tuple[int, ...]:
    """`total` requests spread over the buckets by cumulative shares (last bucket: the rest)."""
    edges = [round(total * share) for share in cumulative[:-1]]
    bounds = [0, *edges, total]
    return (*(high - low for low, high in itertools.pairwise(bounds)), 0)


def scrapes() -> Iterator[Scrape]:
    """Every scrape's increments, deterministic (seeded) with ±10 % noise in traffic."""
    rng = random.Random(SEED)
    spike_at = int(SPIKE_AT.timestamp())
    for at in scrape_times():
        total = round(REQUESTS_PER_S * SCRAPE_INTERVAL_S * rng.uniform(0.9, 1.1))
        bad = at >= spike_at
        per_bucket = _split(total, SPIKE if bad else NORMAL)
        middles = [BUCKETS[0] / 2] + [(lo + hi) / 2 for lo, hi in itertools.pairwise(BUCKETS)]
        seconds = sum(n * m for n, m in zip(per_bucket, [*middles, BUCKETS[-1]], strict=True))
        timed_out = sum(per_bucket[BUCKETS.index(TIMEOUT_S) + 1 :]) if bad else 0
        yield Scrape(at, per_bucket, round(seconds, 3), timed_out)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def openmetrics_lines() -> Iterator[str]:
    """The OpenMetrics exposition: each family's samples in time order, ending in `# EOF`."""
    history = list(scrapes())
    yield "# HELP http_request_duration_seconds Time to answer an HTTP request."
    yield "# TYPE http_request_duration_seconds histogram"
    yield "# UNIT http_request_duration_seconds seconds"
    buckets = [0] * (len(BUCKETS) + 1)
    count, seconds = 0, 0.0
    for scrape in history:
        buckets = [b + n for b, n in zip(buckets, scrape.per_bucket, strict=True)]
        count, seconds = count + scrape.requests, seconds + scrape.seconds
        running = 0
        for bound, added in zip([*map(_number, BUCKETS), "+Inf"], buckets, strict=True):
            running += added
            bucket = f'http_request_duration_seconds_bucket{{{LABELS},le="{bound}"}}'
            yield f"{bucket} {running} {scrape.at}"
        yield f"http_request_duration_seconds_sum{{{LABELS}}} {round(seconds, 3)} {scrape.at}"
        yield f"http_request_duration_seconds_count{{{LABELS}}} {count} {scrape.at}"
    yield "# HELP http_requests Requests answered, by status code."
    yield "# TYPE http_requests counter"
    for code in ("200", "504"):
        total = 0
        for scrape in history:
            total += scrape.timed_out if code == "504" else scrape.requests - scrape.timed_out
            yield f'http_requests_total{{code="{code}",{LABELS}}} {total} {scrape.at}'
    yield "# EOF"


def write_openmetrics(path: Path) -> Path:
    """Write the exposition to `path` (its folder must exist); returns `path`."""
    path.write_text("\n".join(openmetrics_lines()) + "\n", encoding="utf-8")
    return path
