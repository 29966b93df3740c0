"""OPSBOT_ALERT_ROUTES picks an alert group's channel by its common labels: the first route
whose label has that value wins; otherwise OPSBOT_ALERT_CHANNEL."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.alert_payload import AlertNotification
from bot.alerts.desk import alert_channel
from core.settings import load_settings
from tests.alerts.notifications import notification

ROUTES = "team=payments:C0PAY,severity=critical:C0WAR,service=checkout:C0SHOP"


def group(**labels: str) -> AlertNotification:
    body = notification()
    body["commonLabels"] = {"alertname": "HighErrorRate", **labels}
    return AlertNotification.model_validate(body)


@pytest.mark.parametrize(
    ("labels", "channel"),
    [
        ({"team": "payments", "severity": "critical"}, "C0PAY"),  # the first that matches
        ({"team": "search", "severity": "critical"}, "C0WAR"),
        ({"service": "checkout"}, "C0SHOP"),
        ({"team": "Payments"}, "C0DEFAULT"),  # values match exactly
        ({"severity": "critical-ish"}, "C0DEFAULT"),
        ({}, "C0DEFAULT"),
    ],
)
def test_the_first_matching_route_wins_else_the_alert_channel(
    labels: dict[str, str], channel: str, tmp_path: Path
) -> None:
    settings = load_settings(alert_routes=ROUTES, alert_channel="C0DEFAULT", workspace=tmp_path)
    assert alert_channel(settings, group(**labels)) == channel


def test_a_route_with_an_empty_value_matches_an_empty_label(tmp_path: Path) -> None:
    settings = load_settings(alert_routes="env=:C0NOENV", alert_channel="C0D", workspace=tmp_path)
    assert alert_channel(settings, group(env="")) == "C0NOENV"
    assert alert_channel(settings, group()) == "C0D", "a missing label is not an empty one"


def test_without_a_channel_and_no_route_matching_it_is_an_error(tmp_path: Path) -> None:
    settings = load_settings(alert_routes="team=payments:C0PAY", workspace=tmp_path)
    assert alert_channel(settings, group(team="payments")) == "C0PAY"
    with pytest.raises(ValueError, match="OPSBOT_ALERT_CHANNEL"):
        alert_channel(settings, group(team="search"))
