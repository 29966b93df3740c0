"""The alert card: the message that starts an alert's thread (pure Block Kit builders).

Limits followed (https://docs.slack.dev/reference/block-kit/blocks): a header's text 150
characters, a section's text 3,000, at most 10 fields of 2,000 each; links are shown as
their URL (bot/safe_text.py), so the card holds no buttons that would need an action handler.
Every text from the notification is shown as itself (escaped) and already in the form the
writer's `safe_arguments` leaves unchanged, so the limits hold for what Slack receives.
"""

from __future__ import annotations

from typing import Any

from agents.alert_groups import FiringGroup
from agents.alert_payload import AlertNotification, WebhookAlert, started
from bot.blocks import clock, permalink, truncated
from bot.safe_text import mrkdwn_escape, safe_mrkdwn
from bot.text_split import SECTION_TEXT_MAX, bounded_lines
from core.redact import Redactor

HEADER_MAX = 150
TEXT_MAX = 3_000
"""The fallback `text` (notifications, search): the title, cut like the header."""
RECEIVER_MAX = 200
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


def _shown(text: str, redactor: Redactor) -> str:
    """Notification text as mrkdwn that shows it as itself: redacted, escaped, and already
    what `safe_mrkdwn` makes of it (so the writer's pass neither changes nor grows it)."""
    return safe_mrkdwn(mrkdwn_escape(redactor.redact(text)))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _alert_line(alert: WebhookAlert, common: dict[str, str], redactor: Redactor) -> str:
    own = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if common.get(k) != v)
    icon = STATE_ICON[alert.status]
    return f"{icon} {_shown(own or 'alert', redactor)} · since {_shown(started(alert), redactor)}"


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
    header = _cut(" ".join(header.split()), HEADER_MAX)  # one line, as a header reads
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True, "text": header}},
    ]
    about = [
        f"*{key}*: {_shown(value, redactor)}"
        for key in ("summary", "description")
        if (value := _annotation(notification, key))
    ]
    if about:
        blocks.append(_section(truncated("\n".join(about), SECTION_TEXT_MAX - 100)))
    labels = sorted(notification.common_labels.items())
    if labels:
        shown = labels if len(labels) <= MAX_FIELDS else labels[: MAX_FIELDS - 1]
        texts = [truncated(f"*{_shown(k, redactor)}*\n{_shown(v, redactor)}", FIELD_MAX - 80)
                 for k, v in shown]  # fmt: skip
        if len(shown) < len(labels):
            texts.append(f"… and {len(labels) - len(shown)} more common labels")
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in texts]})
    common = notification.common_labels
    lines = [_alert_line(a, common, redactor) for a in notification.alerts]
    if notification.truncated_alerts:
        lines.append(f"… and {notification.truncated_alerts} more (truncated by Alertmanager)")
    blocks.append(_section(f"*Alerts*\n{bounded_lines(lines, SECTION_TEXT_MAX - 20)}"))
    links = [_shown(link, redactor) for link in _links(notification)]
    if links:
        blocks.append(_section(truncated("\n".join(links), SECTION_TEXT_MAX - 100)))
    receiver = _shown(_cut(notification.receiver, RECEIVER_MAX), redactor)
    context = (f"Alertmanager · receiver {receiver} · episode "
               f"{episode} · updated {clock(updated_at)}")  # fmt: skip
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    if note:
        blocks.append(_section(mrkdwn_escape(note)))
    return _cut(safe_mrkdwn(mrkdwn_escape(title)), TEXT_MAX), blocks


def alerts_section(firing: list[FiringGroup], domain: str | None) -> dict[str, Any]:
    """`/opsbot status`'s list of alert groups firing now, each linked to its thread."""
    lines = []
    for group in firing:
        where = (
            permalink(domain, group.channel, group.thread_ts)
            if group.channel and group.thread_ts
            else "thread not posted yet"
        )
        lines.append(f"• :fire: {mrkdwn_escape(group.alertname)} ({group.alerts} firing, "
                     f"since {clock(group.since)}, episode {group.episode}) · {where}")  # fmt: skip
    return _section(f"*Alerts firing*\n{bounded_lines(lines, SECTION_TEXT_MAX - 20)}")


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
