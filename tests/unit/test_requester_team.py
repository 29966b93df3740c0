"""The poster's own team (`user_team`, else `team`, else the installation's) is the team a
channel stream is addressed to; the thread stays keyed by the installation's team."""

from __future__ import annotations

from typing import Any

import pytest

from bot.payloads import person_message
from bot.run_view import new_view
from core.redact import Redactor
from tests.unit.test_thread_keys import envelope

INSTALLATION = {"authorizations": [{"team_id": "T0HOME"}], "team_id": "T0ENVELOPE"}


def _event(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel": "C0SHARED", "user": "U0PERSON",
            "text": "<@U0BOT> hi", "ts": "1700000001.000200", **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "team"),
    [
        ({"user_team": "T0PARTNER", "team": "T0PARTNER", "source_team": "T0PARTNER"},
         "T0PARTNER"),
        ({"user_team": "T0PARTNER", "team": "T0HOME"}, "T0PARTNER"),  # user_team comes first
        ({"team": "T0VENDOR"}, "T0VENDOR"),  # no user_team: the event's team
        ({"team": "T0HOME"}, "T0HOME"),  # a host user
        ({}, "T0HOME"),  # neither: the installation's
        ({"user_team": "", "team": None}, "T0HOME"),
    ],
)  # fmt: skip
def test_the_posters_team_comes_from_the_event(fields: dict[str, Any], team: str) -> None:
    message = person_message(INSTALLATION, _event(**fields), "U0BOT")
    assert message is not None
    assert message.user_team == team
    assert message.team == "T0HOME", "the thread stays keyed by the installation"


@pytest.mark.parametrize(("user", "team"), [("U0PARTNER", "T0PARTNER"), ("U0ONCALL", "T0SANDBOX")])
def test_the_local_workspaces_events_name_the_posters_team(user: str, team: str) -> None:
    body = envelope(user)
    message = person_message(body, body["event"], "U0BOT")
    assert message is not None
    assert (message.team, message.user_team) == ("T0SANDBOX", team)


@pytest.mark.parametrize(
    ("requester_team", "recipient"),
    [("T0PARTNER", "T0PARTNER"), ("T0HOME", "T0HOME"), (None, "T0HOME"), ("", "T0HOME")],
)
def test_a_view_streams_to_the_requesters_team_else_the_installations(
    requester_team: str | None, recipient: str
) -> None:
    view = new_view("T0HOME:C0SHARED:1.2", "T0HOME:C0SHARED:1.2", "U0PERSON", Redactor(),
                    requester_team=requester_team)  # fmt: skip
    assert view.team == "T0HOME"
    assert view.recipient_team == recipient
