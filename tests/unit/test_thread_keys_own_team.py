"""Envelopes without `authorizations` key threads by the bot's own team, not the channel host's
(`context_team_id`) nor the poster's (`team_id`), as a status link does (issue 16, section 2)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.payloads import installation_team, parse_status_target, person_message
from sandbox.slack import payloads
from sandbox.slack.model import Channel, Message, User, default_workspace

OWN = "T0SANDBOX"  # what auth.test says at start (BotDeps.team)
PARTNER = User("U0PARTNER", "pat", "Pat Partner", team_id="T0PARTNER")


@pytest.mark.parametrize(
    "body",
    [
        {"context_team_id": "T0PARTNER", "team_id": "T0PARTNER"},
        {"authorizations": [], "context_team_id": "T0PARTNER", "team_id": OWN},
        {"authorizations": [{"team_id": None}], "context_team_id": "T0PARTNER"},
        {"authorizations": "T0PARTNER", "context_team_id": "T0PARTNER"},
        {"authorizations": [{"team_id": ""}]},
    ],
)
def test_without_authorizations_the_bots_own_team_comes_before_the_host(
    body: dict[str, Any],
) -> None:
    assert installation_team(body, OWN) == OWN


def test_the_authorizations_still_come_first() -> None:
    body = {"authorizations": [{"team_id": "T0HOME"}], "context_team_id": "T0PARTNER"}
    assert installation_team(body, OWN) == "T0HOME"


def bare_envelope(user: str, thread_ts: str | None, mention: bool) -> dict[str, Any]:
    """A post in a channel a partner hosts, its envelope without `authorizations`."""
    space = default_workspace()
    space.channels["C0ACME"] = Channel("C0ACME", "acme-shared", {"U0BOT", "U0ONCALL"},
                                       host_team="T0PARTNER")  # fmt: skip
    space.add_partner(PARTNER, "C0ACME")
    if thread_ts:
        space.channels["C0ACME"].messages[thread_ts] = Message(thread_ts, "C0ACME", user, "x")
    text = "<@U0BOT> hi" if mention else "it started at 10:00"
    post = Message("1700000001.000200", "C0ACME", user, text, thread_ts=thread_ts)
    body = payloads.event_callback(space, payloads.message_events(space, post)[-1])
    del body["authorizations"]
    return body


@pytest.mark.parametrize(
    ("user", "thread_ts", "mention"),
    [
        ("U0ONCALL", "1700000000.000100", False),  # the reviewer's: the host's plain reply
        ("U0ONCALL", None, True),  # the host's mention starting a thread there
        ("U0PARTNER", "1700000000.000100", False),  # the partner's own reply
        ("U0PARTNER", None, True),
    ],
)
def test_every_post_without_authorizations_keys_on_the_bots_team(
    user: str, thread_ts: str | None, mention: bool
) -> None:
    body = bare_envelope(user, thread_ts, mention)
    assert body["context_team_id"] == "T0PARTNER"
    message = person_message(body, body["event"], "U0BOT", own_team=OWN)
    assert message is not None
    assert message.thread("T0UNUSED").key == f"{OWN}:C0ACME:{thread_ts or message.ts}"
    assert message.user_team == ("T0PARTNER" if user == "U0PARTNER" else OWN)


def test_a_status_link_names_the_key_of_a_thread_without_authorizations() -> None:
    body = bare_envelope("U0PARTNER", None, True)
    message = person_message(body, body["event"], "U0BOT", own_team=OWN)
    assert message is not None
    seconds, micros = message.ts.split(".")
    link = f"<https://acme.slack.com/archives/C0ACME/p{seconds}{micros}|thread>"
    assert parse_status_target(link, OWN) == ("thread", message.thread(OWN).key)
