"""Alertmanager's webhook notification (version 4), read strictly, and the text a run gets.

Format: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
(`version`, `groupKey`, `truncatedAlerts`, `status`, `receiver`, `groupLabels`,
`commonLabels`, `commonAnnotations`, `externalURL`, `alerts[]` with `status`, `labels`,
`annotations`, `startsAt`, `endsAt`, `generatorURL`, `fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_ALERTS_IN_TEXT = 20
"""Alerts of one group written out in the run's input; the rest are counted."""
MAX_WHERE = 200
"""Characters of a field's path shown in a PayloadError."""
ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero time: what Alertmanager sends as `endsAt` of an alert that has no end yet."""


class WebhookAlert(BaseModel):
    """One alert of the group."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str = Field(alias="startsAt")
    ends_at: str = Field(default=ZERO_TIME, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class AlertNotification(BaseModel):
    """One webhook notification: an alert group in one state."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1, max_length=10_000)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=1_000)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[WebhookAlert] = Field(min_length=1)

    def firing(self) -> list[WebhookAlert]:
        """The alerts still firing."""
        return [a for a in self.alerts if a.status == "firing"]

    def alertname(self) -> str:
        """The group's alert name (common label, else the first alert's), or "alert"."""
        return self.common_labels.get("alertname") or self.alerts[0].labels.get(
            "alertname", "alert"
        )

    def content_hash(self) -> str:
        """What a person would see change: the same alerts in the same states hash the same,
        so Alertmanager's retries and `repeat_interval` re-sends change nothing."""
        alerts = sorted(
            (a.fingerprint or json.dumps(a.labels, sort_keys=True), a.status, a.starts_at,
             a.ends_at if a.status == "resolved" else "", json.dumps(a.annotations, sort_keys=True))
            for a in self.alerts
        )  # fmt: skip
        body = json.dumps([self.status, self.truncated_alerts, alerts], separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:32]


class PayloadError(ValueError):
    """The body is not an Alertmanager version 4 notification; the message says where."""


NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
"""`\u0000` in a JSON text (not an escaped backslash followed by `u0000`)."""


def parse_notification(body: bytes) -> AlertNotification:
    """The notification in `body` (JSON). Raises PayloadError naming the first bad field
    (a field name is cut at `MAX_WHERE` characters: the error echoes no large input)."""
    try:
        # PostgreSQL's text and JSON columns refuse U+0000: shown as U+FFFD, the alert is kept
        data = json.loads(NUL_ESCAPE.sub(rb"\1\\ufffd", body))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"the body is not JSON: {error}") from None
    except RecursionError:
        raise PayloadError("the body is JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError("the body is not a JSON object")
    if "version" in data and data["version"] != "4":
        given = json.dumps(data["version"])[:MAX_WHERE]
        raise PayloadError(f'version is {given}; only "4" (a string) is supported')
    try:
        return AlertNotification.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        where = where if len(where) <= MAX_WHERE else where[:MAX_WHERE] + "…"
        raise PayloadError(f"{where}: {first['msg']}") from None


def started(alert: WebhookAlert) -> str:
    """`startsAt` as `2026-11-30 14:02:05 UTC` (the raw text when it is not RFC 3339)."""
    try:
        moment = datetime.fromisoformat(alert.starts_at.replace("Z", "+00:00"))
    except ValueError:
        return alert.starts_at
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _alert_lines(alert: WebhookAlert, common: dict[str, str]) -> list[str]:
    own = {k: v for k, v in alert.labels.items() if common.get(k) != v}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(own.items())) or "(common labels)"
    lines = [f"- {alert.status}, since {started(alert)}: {shown}"]
    for key in ("summary", "description"):
        if alert.annotations.get(key):
            lines.append(f"  {key}: {alert.annotations[key]}")
    if alert.generator_url:
        lines.append(f"  source: {alert.generator_url}")
    return lines


def investigation_text(notification: AlertNotification) -> str:
    """The run's input for a firing group: what fired, where, since when, and the ask."""
    firing = notification.firing()
    labels = ", ".join(f"{k}={v}" for k, v in sorted(notification.common_labels.items()))
    lines = [
        f"Alertmanager alert group {notification.status.upper()}: {notification.alertname()} "
        f"({len(firing)} firing, receiver {notification.receiver})",
        f"Common labels: {labels or '(none)'}",
    ]
    for key, value in sorted(notification.common_annotations.items()):
        lines.append(f"{key}: {value}")
    lines.append("Alerts:")
    for alert in notification.alerts[:MAX_ALERTS_IN_TEXT]:
        lines.extend(_alert_lines(alert, notification.common_labels))
    left = len(notification.alerts) - MAX_ALERTS_IN_TEXT + notification.truncated_alerts
    if left > 0:
        lines.append(f"(and {left} more alert(s) not shown)")
    lines.append(
        "Investigate this alert: since when, how bad, which instance or service, and the "
        "likely cause. Use the metrics (PromQL) and logs; cite the metric and the time the "
        "problem began."
    )
    return "\n".join(lines)
