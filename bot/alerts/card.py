"""The alert card: the message that starts an alert's thread (pure Block Kit builders).

Limits followed (https://docs.slack.dev/reference/block-kit/blocks): a header's text 150
characters, a section's text 3,000, at most 10 fields of 2,000 each; links are shown as
their URL (bot/safe_text.py), so the card holds no buttons that would need an action handler.
"""

from __future__ import annotations

from typing import Any

from agents.alert_payload import AlertNotification, WebhookAlert, started
from bot.blocks import clock, truncated
from bot.safe_text import mrkdwn_escape
from bot.text_split import SECTION_TEXT_MAX, bounded_lines
from core.redact import Redactor

HEADER_MAX = 150
FIELD_MAX = 2_000
MAX_FIELDS = 10
CARD_EVENT_TYPE = "opsbot_alert"
"""Message metadata `event_type` of a card: a retried delivery finds the card it posted."""
LINK_ANNOTATIONS = ("runbook_url", "runbook", "dashboard_url", "dashboard")
STATE_ICON = {"firing": ":fire:", "resolved": ":white_check_mark:"}


def card_title(notification: AlertNotification) -> str:
    """`[FIRING:2] HighErrorRate (checkout prod)`, as Alertmanager's own templates title it."""
    count = (
        len(notification.firing()) if notification.status == "firing" else len(notification.alerts)
    )
    values = " ".join(v for k, v in sorted(notification.group_labels.items()) if k != "alertname")
    title = f"[{notification.status.upper()}:{count}] {notification.alertname()}"
    return f"{title} ({values})" if values else title


def _annotation(notification: AlertNotification, key: str) -> str:
    first = notification.alerts[0].annotations
    return notification.common_annotations.get(key) or first.get(key, "")


def _alert_line(alert: WebhookAlert, common: dict[str, str]) -> str:
    own = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if common.get(k) != v)
    icon = STATE_ICON[alert.status]
    return f"{icon} {mrkdwn_escape(own or 'alert')} · since {started(alert)}"


def _links(notification: AlertNotification) -> list[str]:
    links = []
    for key in LINK_ANNOTATIONS:
        if value := _annotation(notification, key):
            links.append(f"{key.split('_')[0].capitalize()}: {value}")
    sources = [a.generator_url for a in notification.alerts if a.generator_url]
    if sources:
        links.append(f"Source: {sources[0]}")
    if notification.external_url:
        links.append(f"Alertmanager: {notification.external_url}")
    return [link for link in links if link.split(": ", 1)[1].startswith(("http://", "https://"))]


def alert_card(
    notification: AlertNotification, redactor: Redactor, *, episode: int, updated_at: float,
    note: str = "",
) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    """(fallback text, blocks) of the card for `notification`; every text is redacted."""
    title = redactor.redact(card_title(notification))
    icon = STATE_ICON[notification.status]
    header = f"{icon} {title}"
    header = header if len(header) <= HEADER_MAX else header[: HEADER_MAX - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True, "text": header}},
    ]
    about = [
        f"*{key}*: {mrkdwn_escape(redactor.redact(value))}"
        for key in ("summary", "description")
        if (value := _annotation(notification, key))
    ]
    if about:
        blocks.append(_section(truncated("\n".join(about), SECTION_TEXT_MAX - 100)))
    labels = sorted(notification.common_labels.items())
    if labels:
        fields = [{"type": "mrkdwn", "text": truncated(
            f"*{mrkdwn_escape(k)}*\n{mrkdwn_escape(redactor.redact(v))}", FIELD_MAX - 80)}
            for k, v in labels[:MAX_FIELDS]]  # fmt: skip
        blocks.append({"type": "section", "fields": fields})
    common = notification.common_labels
    lines = [redactor.redact(_alert_line(a, common)) for a in notification.alerts]
    if notification.truncated_alerts:
        lines.append(f"… and {notification.truncated_alerts} more (truncated by Alertmanager)")
    blocks.append(_section(f"*Alerts*\n{bounded_lines(lines, SECTION_TEXT_MAX - 20)}"))
    links = [mrkdwn_escape(redactor.redact(link)) for link in _links(notification)]
    if links:
        blocks.append(_section(truncated("\n".join(links), SECTION_TEXT_MAX - 100)))
    context = (f"Alertmanager · receiver {mrkdwn_escape(notification.receiver)} · episode "
               f"{episode} · updated {clock(updated_at)}")  # fmt: skip
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    if note:
        blocks.append(_section(mrkdwn_escape(note)))
    return title, blocks


def card_metadata(group_id: str, episode: int) -> dict[str, Any]:
    """chat.postMessage `metadata` naming the group and episode of a card
    (https://docs.slack.dev/messaging/message-metadata)."""
    return {"event_type": CARD_EVENT_TYPE, "event_payload": {"group": group_id, "episode": episode}}


def is_card_of(message: dict[str, Any], group_id: str, episode: int) -> bool:
    """Whether `message` (as conversations.history returns it) is that card."""
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != CARD_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    wanted = card_metadata(group_id, episode)["event_payload"]
    return isinstance(payload, dict) and payload == wanted


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
