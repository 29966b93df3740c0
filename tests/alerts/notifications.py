"""Alertmanager webhook notifications (version 4) shaped as Alertmanager 0.25 sends them."""

from __future__ import annotations

from typing import Any

STARTS = "2026-11-30T14:02:05.123Z"


def alert(
    status: str = "firing", instance: str = "checkout-1:9100", starts_at: str = STARTS,
    alertname: str = "HighErrorRate", **labels: str,
) -> dict[str, Any]:  # fmt: skip
    """One alert of a group."""
    return {
        "status": status,
        "labels": {"alertname": alertname, "service": "checkout", "severity": "page",
                   "instance": instance, **labels},
        "annotations": {"summary": "checkout returns 5xx on 12% of requests",
                        "description": "Error ratio over 5% for 2 minutes.",
                        "runbook_url": "https://runbooks.example/checkout-5xx"},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-30T14:20:00Z",
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate%28errors%5B1m%5D%29",
        "fingerprint": f"fp-{alertname}-{instance}",
    }  # fmt: skip


def notification(
    group: str = "checkout", status: str = "firing", alerts: list[dict[str, Any]] | None = None,
    receiver: str = "opsbot",
) -> dict[str, Any]:  # fmt: skip
    """A group's notification; `group` makes its groupKey."""
    alerts = alerts if alerts is not None else [alert(status)]
    return {
        "version": "4",
        "groupKey": f'{{}}/{{severity="page"}}:{{alertname="HighErrorRate", service="{group}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": "HighErrorRate", "service": group},
        "commonLabels": {"alertname": "HighErrorRate", "service": group, "severity": "page"},
        "commonAnnotations": {"summary": f"{group} returns 5xx on 12% of requests"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts,
    }
