"""A small application exporter (prometheus_client) that tests change: an error counter, a
latency histogram and a gauge with as many series as a test asks for. Served by aiohttp on a
free port, in the test's event loop; Prometheus scrapes `/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from tests.metrics.servers import free_port

ERRORS = "app_errors_total"
LATENCY = "app_request_duration_seconds"
SHARDS = "app_shard_up"


@dataclass
class Exporter:
    """The exporter's metrics and where it listens (`target`: host:port for a scrape config)."""

    registry: CollectorRegistry
    errors: Counter
    latency: Histogram
    shards: Gauge
    port: int = 0

    @classmethod
    def new(cls) -> Exporter:
        """Fresh metrics in their own registry (no process or platform collectors)."""
        registry = CollectorRegistry()
        errors = Counter(ERRORS, "Requests that failed.", ["route"], registry=registry)
        latency = Histogram(
            LATENCY,
            "Request latency in seconds.",
            ["route"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        shards = Gauge(SHARDS, "Whether a shard is up.", ["shard"], registry=registry)
        errors.labels(route="/checkout").inc(0)
        return cls(registry, errors, latency, shards)

    @property
    def target(self) -> str:
        """`127.0.0.1:PORT`, as a Prometheus static_config names it."""
        return f"127.0.0.1:{self.port}"

    def fail(self, count: int, route: str = "/checkout") -> None:
        """Count `count` more failed requests on `route`."""
        self.errors.labels(route=route).inc(count)

    def observe(self, seconds: float, count: int = 1, route: str = "/checkout") -> None:
        """Record `count` requests that took `seconds` each."""
        for _ in range(count):
            self.latency.labels(route=route).observe(seconds)

    def set_shards(self, count: int) -> None:
        """Expose `count` series of the shard gauge (shard="0" ... ), all up."""
        for shard in range(count):
            self.shards.labels(shard=str(shard)).set(1)


@asynccontextmanager
async def serve_exporter(exporter: Exporter | None = None) -> AsyncIterator[Exporter]:
    """Serve `exporter` (a new one by default) at http://127.0.0.1:PORT/metrics until the
    block ends."""
    shown = exporter or Exporter.new()

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(shown.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    shown.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", shown.port).start()
    try:
        yield shown
    finally:
        await runner.cleanup()


def errors_rule(threshold: float = 5, name: str = "AppErrors", for_: str = "0s") -> dict[str, Any]:
    """An alerting rule that fires once the exporter has counted more than `threshold` errors
    (severity "page", a summary and a runbook link)."""
    return {
        "alert": name,
        "expr": f"{ERRORS} > {threshold:g}",
        "for": for_,
        "labels": {"severity": "page"},
        "annotations": {
            "summary": "Checkout is failing",
            "description": "{{ $value }} errors on {{ $labels.route }}",
            "runbook_url": "https://runbooks.example/checkout",
        },
    }


def latency_rule(name: str = "AppSlow") -> dict[str, Any]:
    """An alerting rule on the latency histogram's p99 that stays inactive in tests."""
    return {
        "alert": name,
        "for": "5m",
        "labels": {"severity": "ticket"},
        "expr": f"histogram_quantile(0.99, sum by (le) (rate({LATENCY}_bucket[30s]))) > 100",
        "annotations": {"summary": "Checkout is slow"},
    }
