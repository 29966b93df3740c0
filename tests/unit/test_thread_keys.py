"""Threads are keyed by the installation's team, channel and thread start (Slack Connect)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.payloads import installation_team, parse_status_target, person_message
from sandbox.slack import payloads
from sandbox.slack.model import Channel, Message, User, default_workspace

PARTNER = User("U0PARTNER", "pat", "Pat Partner", team_id="T0PARTNER")


def envelope(user: str, thread_ts: str | None = None, host: str | None = None) -> dict[str, Any]:
    """The `message` envelope the local workspace sends for a post in a shared channel."""
    space = default_workspace()
    space.channels["C0SHARED"] = Channel("C0SHARED", "shared", {"U0BOT", "U0ONCALL"},
                                         host_team=host)  # fmt: skip
    space.add_partner(PARTNER, "C0SHARED")
    if thread_ts:
        space.channels["C0SHARED"].messages[thread_ts] = Message(thread_ts, "C0SHARED", user, "x")
    post = Message("1700000001.000200", "C0SHARED", user, "<@U0BOT> hi", thread_ts=thread_ts)
    return payloads.event_callback(space, payloads.message_events(space, post)[-1])


@pytest.mark.parametrize(
    ("user", "thread_ts", "host"),
    [
        ("U0PARTNER", None, None),  # a partner's mention in our channel
        ("U0ONCALL", "1700000000.000100", None),  # the host's reply in that thread
        ("U0PARTNER", "1700000000.000100", "T0PARTNER"),  # a partner's reply, their channel
        ("U0ONCALL", None, "T0PARTNER"),
    ],
)
def test_every_post_of_a_shared_channel_keys_on_the_installation(
    user: str, thread_ts: str | None, host: str | None
) -> None:
    body = envelope(user, thread_ts, host)
    message = person_message(body, body["event"], "U0BOT")
    assert message is not None
    assert message.thread("T0FALLBACK").key == f"T0SANDBOX:C0SHARED:{thread_ts or message.ts}"


def test_the_partners_event_says_their_team_which_is_not_the_key() -> None:
    body = envelope("U0PARTNER")
    assert (body["event"]["team"], body["event"]["user_team"]) == ("T0PARTNER", "T0PARTNER")
    assert body["team_id"] == "T0PARTNER"
    assert body["is_ext_shared_channel"] is True


@pytest.mark.parametrize(
    ("body", "team"),
    [
        ({"authorizations": [{"team_id": "T0HOME"}], "context_team_id": "T0X", "team_id": "T0Y"},
         "T0HOME"),
        ({"authorizations": [], "context_team_id": "T0CTX", "team_id": "T0Y"}, "T0CTX"),
        ({"team_id": "T0ONLY"}, "T0ONLY"),
        ({"authorizations": [{"team_id": None}], "team_id": "T0Y"}, "T0Y"),
    ],
)  # fmt: skip
def test_installation_team_prefers_the_authorizations(body: dict[str, Any], team: str) -> None:
    assert installation_team(body) == team


def test_a_status_thread_link_names_the_same_key_as_the_thread() -> None:
    body = envelope("U0PARTNER")
    message = person_message(body, body["event"], "U0BOT")
    assert message is not None
    seconds, micros = message.ts.split(".")
    link = f"<https://acme.slack.com/archives/C0SHARED/p{seconds}{micros}>"
    assert parse_status_target(link, "T0SANDBOX") == ("thread", message.thread("T0X").key)
