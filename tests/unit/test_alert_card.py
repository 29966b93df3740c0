"""The alert card under hostile notifications: whatever the labels and annotations hold, the
card is valid Block Kit for the local workspace's validator (Slack's limits), pings nobody,
hides no link target, shows no secret, and the writer's safety pass leaves it unchanged (so
nothing grows past a limit after the card was measured)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.alert_payload import AlertNotification, investigation_text, parse_notification
from bot.alerts.card import HEADER_MAX, TEXT_MAX, alert_card
from bot.safe_text import safe_arguments
from core.redact import Redactor
from sandbox.slack.blocks import validate_blocks
from sandbox.slack.limits import MAX_TEXT
from tests.alerts.notifications import alert, notification

# Each grows under the writer's mrkdwn pass unless the card already made it safe.
GROWING = {
    "link joints": "](" * 1_450,
    "markdown links": "[runbook](http://evil.example/x) " * 100,
    "reference definitions": "\n".join(["[ref]: http://evil.example"] * 120),
    "entities": "<&>" * 1_000,
}
PINGS = (
    "<!channel> <!here> <!everyone> <!subteam^S0123|oncall> @channel @here",
    "<@U0AAAA> <@U0BBBB> <@U0CCCC>",
    "<http://evil.example|runbook> <mailto:x@evil.example|support>",
    "[runbook](http://evil.example) ![x](http://evil.example/a.png)",
    "<!chan\u200bnel> @\u200bhere <@U0AAAA|\u200b>",
)
SLOTS = ("alertname", "group label", "common label", "label key", "summary", "description",
         "runbook_url", "alert label", "receiver", "startsAt")  # fmt: skip


def hostile(slot: str, text: str) -> dict[str, Any]:
    """A notification with `text` in one place a person or Alertmanager config could fill."""
    body = notification()
    first = body["alerts"][0]
    if slot == "alertname":
        body["commonLabels"]["alertname"] = text
    elif slot == "group label":
        body["groupLabels"]["team"] = text
    elif slot == "common label":
        body["commonLabels"]["team"] = text
    elif slot == "label key":
        body["commonLabels"][text] = "x"
    elif slot in ("summary", "description"):
        body["commonAnnotations"][slot] = text
    elif slot == "runbook_url":
        body["commonAnnotations"]["runbook_url"] = "https://runbooks.example/" + text
    elif slot == "alert label":
        first["labels"]["pod"] = text
    elif slot == "receiver":
        body["receiver"] = text[:1_000]
    else:
        first["startsAt"] = text
    return body


def sent(body: dict[str, Any], redactor: Redactor | None = None) -> dict[str, Any]:
    """chat.postMessage's arguments for the card of `body`, after the writer's safety pass,
    checked against the local workspace's Block Kit validator and text limit."""
    parsed = parse_notification(json.dumps(body).encode())
    text, blocks = alert_card(parsed, redactor or Redactor(), episode=1, updated_at=0.0)
    arguments = {"channel": "C1", "text": text, "blocks": blocks}
    safe = safe_arguments("chat.postMessage", arguments)
    assert validate_blocks(safe["blocks"]) == []
    assert len(safe["text"]) <= MAX_TEXT
    assert {k: safe[k] for k in arguments} == arguments, "the card is already what Slack gets"
    return safe


def mrkdwn_texts(value: Any) -> list[str]:
    """The message `text` and every mrkdwn text object (where Slack parses mentions, links)."""
    if isinstance(value, list):
        return [t for item in value for t in mrkdwn_texts(item)]
    if not isinstance(value, dict):
        return []
    if value.get("type") == "plain_text":
        return []
    own = [value["text"]] if isinstance(value.get("text"), str) else []
    return own + [t for item in value.values() for t in mrkdwn_texts(item)]


@pytest.mark.parametrize("slot", SLOTS)
@pytest.mark.parametrize("kind", sorted(GROWING))
def test_text_the_writer_would_rewrite_never_pushes_the_card_past_a_limit(
    slot: str, kind: str
) -> None:
    sent(hostile(slot, GROWING[kind]))


@pytest.mark.parametrize("slot", SLOTS)
@pytest.mark.parametrize("text", PINGS)
def test_mentions_and_masked_links_are_shown_as_text(slot: str, text: str) -> None:
    shown = "\n".join(mrkdwn_texts(sent(hostile(slot, text))))  # plain_text pings nobody
    for live in ("<!", "<@", "|runbook>", "|support>", "](http"):
        assert live not in shown


@pytest.mark.parametrize(
    ("slot", "size"),
    [("alertname", 50_000), ("group label", 45_000), ("summary", 100_000),
     ("common label", 10_000), ("alert label", 200_000), ("label key", 5_000),
     ("receiver", 1_000)],
)  # fmt: skip
def test_huge_values_are_cut_and_the_card_still_posts(slot: str, size: int) -> None:
    safe = sent(hostile(slot, "x" * size))
    header = safe["blocks"][0]["text"]["text"]
    assert len(header) <= HEADER_MAX
    assert len(safe["text"]) <= TEXT_MAX, "chat.update refuses a text over 40,000 (msg_too_long)"


@pytest.mark.parametrize("count", [11, 40, 300])
def test_many_alerts_and_labels_fit_one_card(count: int) -> None:
    body = notification(alerts=[alert(instance=f"node-{i}", pod="p" * 500) for i in range(count)])
    body["commonLabels"].update({f"label{i}": "v" * 1_999 for i in range(count)})
    safe = sent(body)
    shown = json.dumps(safe["blocks"])
    assert len(safe["blocks"]) <= 10
    labels = count + 3  # alertname, service, severity
    assert f"and {labels - 9} more common labels" in shown, "labels past 10 fields are counted"
    alerts = safe["blocks"][3]["text"]["text"]
    listed = alerts.count(":fire:")
    assert listed == count or f"and {count - listed} more" in alerts, "every alert is counted"


@pytest.mark.parametrize(
    "title", ["line one\nline two", "\n\n\nleading", "tab\there\r\nand crlf", "x\u2028y"]
)
def test_the_header_is_one_line(title: str) -> None:
    header = sent(hostile("group label", title))["blocks"][0]["text"]["text"]
    assert not any(c in header for c in "\n\r\t\u2028")


SECRETS = {
    "url password": ("https://admin:hunter2hunter2@runbooks.example/x", "hunter2hunter2"),
    "token in query": ("http://prom:9090/graph?g0.expr=up&password=S3cretS3cret", "S3cretS3cret"),
    "github token": ("token: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                     "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    "aws key": ("key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
}  # fmt: skip


@pytest.mark.parametrize("slot", ["summary", "description", "common label", "alert label",
                                  "alertname", "group label", "receiver"])  # fmt: skip
@pytest.mark.parametrize("name", sorted(SECRETS))
def test_secrets_reach_neither_the_card_nor_the_model(slot: str, name: str) -> None:
    text, secret = SECRETS[name]
    body = hostile(slot, text)
    body["alerts"][0]["generatorURL"] = f"http://user:{secret}@prom:9090/graph?token={secret}"
    redactor = Redactor()
    assert secret not in json.dumps(sent(body, redactor))
    parsed = AlertNotification.model_validate(body)
    assert secret not in redactor.redact(investigation_text(parsed)), "the desk's model input"
