"""`parse_notification` on bodies Alertmanager would not send (each kind of error, several
inputs, one clear message naming where) and on odd bodies it may send (accepted)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.alert_payload import (
    MAX_WHERE,
    PayloadError,
    investigation_text,
    parse_notification,
    started,
)
from tests.alerts.notifications import alert, notification


def changed(**changes: Any) -> bytes:
    """A valid notification with top-level `changes` (None: the key removed)."""
    body = notification()
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    return json.dumps(body).encode()


def alert_changed(**changes: Any) -> bytes:
    """A valid notification whose first alert has `changes` (JSON null kept as null)."""
    body = notification()
    body["alerts"][0].update(changes)
    return json.dumps(body).encode()


def with_null(key: str) -> bytes:
    """A notification whose top-level `key` is JSON null."""
    return json.dumps(notification() | {key: None}).encode()


def alert_without(key: str) -> bytes:
    body = notification()
    body["alerts"][0].pop(key)
    return json.dumps(body).encode()


def nested(depth: int) -> bytes:
    return changed()[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"


ERRORS: dict[str, tuple[list[bytes], str]] = {
    "not JSON": ([b"{", b"\xff\xfe{}", b"", b"version=4"], "the body is not JSON"),
    "not an object": ([b"[1]", b"null", b'"4"', b"4"], "the body is not a JSON object"),
    "nested too deeply": ([nested(100_000), b"[" * 50_000], "nested too deeply"),
    "wrong version": ([changed(version="3"), changed(version=4), changed(version=None)],
                      "version"),
    "missing field": ([changed(status=None), changed(receiver=None), changed(groupKey=None),
                       changed(alerts=None), alert_without("labels"), alert_without("status"),
                       alert_without("startsAt")], "Field required"),
    "null for text": ([alert_changed(generatorURL=None), alert_changed(startsAt=None),
                       alert_changed(fingerprint=None), with_null("receiver")],
                      "valid string"),
    "number for text": ([alert_changed(labels={"x": 5}), alert_changed(annotations={"a": 1.5}),
                         alert_changed(startsAt=17)], "valid string"),
    "null for a map": ([alert_changed(labels=None), with_null("commonLabels"),
                        alert_changed(annotations=None)], "valid dictionary"),
    "unknown status": ([changed(status="FIRING"), alert_changed(status="pending"),
                        changed(status="")], "'firing' or 'resolved'"),
    "no alerts": ([changed(alerts=[]), changed(alerts={})], "alerts"),
    "empty group key": ([changed(groupKey=""), changed(groupKey="k" * 10_001)], "groupKey"),
    "negative count": ([changed(truncatedAlerts=-1), changed(truncatedAlerts="-5")],
                       "truncatedAlerts"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "body"), [(kind, body) for kind, (bodies, _) in ERRORS.items() for body in bodies]
)
def test_each_bad_body_is_one_error_naming_where(kind: str, body: bytes) -> None:
    with pytest.raises(PayloadError) as error:
        parse_notification(body)
    assert ERRORS[kind][1] in str(error.value)
    assert len(str(error.value)) < 600


@pytest.mark.parametrize("key", ["k" * 100_000, "<!channel>" * 10_000])
def test_an_error_echoes_no_large_input(key: str) -> None:
    with pytest.raises(PayloadError) as error:
        parse_notification(alert_changed(labels={key: 1}))
    assert len(str(error.value)) < MAX_WHERE + 100


@pytest.mark.parametrize(
    "body",
    [changed(extra={"nested": [1, None]}), changed(truncatedAlerts=None),
     changed(groupLabels=None, commonLabels=None, commonAnnotations=None, externalURL=None),
     json.dumps(notification(alerts=[{"status": "firing", "labels": {}, "startsAt": "x"}])
                ).encode(),
     json.dumps(notification(alerts=[alert(), alert()])).encode()],
)  # fmt: skip
def test_extra_and_missing_optional_fields_are_accepted(body: bytes) -> None:
    parsed = parse_notification(body)
    assert parsed.alerts
    assert "Alertmanager alert group" in investigation_text(parsed)


@pytest.mark.parametrize("starts", ["yesterday", "", "2026-13-45T99:99:99Z", "0" * 5_000])
def test_a_start_time_that_is_not_rfc3339_is_shown_as_sent(starts: str) -> None:
    parsed = parse_notification(alert_changed(startsAt=starts))
    assert started(parsed.alerts[0]) == starts


@pytest.mark.parametrize(
    "text", ["Ünïcödé 🔥 日本語", "\u200b\u200d\ufeff", "\U0001f525" * 1_000, "a\x00b", "\\u0000"]
)
def test_unicode_is_kept_and_nul_becomes_a_replacement_character(text: str) -> None:
    body = notification()
    body["commonLabels"]["team"] = text
    parsed = parse_notification(json.dumps(body).encode())
    assert parsed.common_labels["team"] == text.replace("\x00", "\ufffd")
