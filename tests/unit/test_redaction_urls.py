"""URLs are not `key: value` pairs: a host and its port, or a label followed by a URL, are
shown as they are (Prometheus' generator URLs, Grafana dashboards, runbooks), while what a
URL holds that is secret (a password, a credential query parameter, a random-looking
webhook path) is still redacted."""

from __future__ import annotations

import pytest

from core.redact import Redactor

KEPT = [
    "Source: http://vm:38651/graph?g0.expr=app_errors_total+%3E+5&g0.tab=1",
    "http://prometheus-0.monitoring.svc:39090/graph?g0.expr=histogram_quantile%280.99%2C+sum+by"
    "+%28le%29+%28rate%28http_request_duration_seconds_bucket%5B5m%5D%29%29%29&g0.tab=1",
    "source=https://prom.example:9090/graph?g0.expr=rate%28errors_total%5B5m%5D%29Zq9x",
    "generatorURL: http://prometheus.internal:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
    "vm:38651/graph?g0.expr=app_errors_total+%3E+5x9Qz7",
    "runbook_url: https://runbooks.example/checkout-5xx",
    "dashboard: https://grafana.example/d/a1B2c3D4e/payments?orgId=1&from=now-1h",
    "link: https://github.com/acme/PaymentsService2024/blob/main/src/ChargeHandler.java",
    "Alertmanager: http://alertmanager-main-0.alertmanager-operated:9093/#/alerts?receiver=x",
]
REDACTED = [
    ("webhook: https://hooks.example/T0/B0/Xq9zKf8LmN2pQr5sTu7vWx3y", "Xq9zKf8LmN2pQr5sTu7vWx3y"),
    ("note: https://hooks.example/services/T0AB12CD/B0EF34GH/Xq9zKf8LmN2pQr5sTu7vWx3yAbC",
     "Xq9zKf8LmN2pQr5sTu7vWx3yAbC"),
    ("url=https://api.example/v1?access_token=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
     "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    ("Source: https://user:S3cr3tPassw0rd@db.internal:5432/app", "S3cr3tPassw0rd"),
    ("password:38651/abcdefgh", "38651/abcdefgh"),
    ("https://blob.example/f.png?sig=Xq9zKf8LmN2pQr5sTu7vWx3yAbC%2Bq9Lm&se=2026",
     "Xq9zKf8LmN2pQr5sTu7vWx3yAbC%2Bq9Lm"),
    ("password=https://x:9f8e7d6c5b4a39281706@h", "9f8e7d6c5b4a39281706"),
]  # fmt: skip


@pytest.mark.parametrize("text", KEPT)
def test_urls_and_host_ports_are_kept(text: str) -> None:
    assert Redactor().redact(text) == text


@pytest.mark.parametrize(("text", "secret"), REDACTED)
def test_what_a_url_holds_that_is_secret_is_still_redacted(text: str, secret: str) -> None:
    clean = Redactor().redact(text)
    assert secret not in clean
    assert "REDACTED" in clean
