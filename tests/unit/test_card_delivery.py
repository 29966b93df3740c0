"""Which card is tried, and when the bot gives up, for each kind of refusal."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from agents.events import ApprovalRequested
from bot.card_delivery import deliver_card

REQUEST = ApprovalRequested(
    run_id="T:C:1", approval_id="ap1", agent="coding", tool_name="shell_execute",
    risk="critical", preview="$ systemctl restart checkout", reason="restart it",
    requester="U1", expires_at=0.0,
)  # fmt: skip


def refusal(code: str) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST", api_url="chat.postMessage",
                             req_args={}, data={"ok": False, "error": code}, headers={},
                             status_code=200)  # fmt: skip
    return SlackApiError(code, response)


class Slack:
    """Refuses the first `refuse` posts with `code`; records what was tried."""

    def __init__(self, code: str, refuse: int) -> None:
        self.code, self.refuse = code, refuse
        self.tried: list[tuple[str, list[dict[str, Any]] | None]] = []

    async def post(self, text: str, blocks: list[dict[str, Any]] | None) -> str:
        self.tried.append((text, blocks))
        if len(self.tried) <= self.refuse:
            raise refusal(self.code)
        return f"ts{len(self.tried)}"


def compact(blocks: list[dict[str, Any]] | None) -> bool:
    return "could not be posted" in str(blocks)


async def test_a_passing_outage_is_retried_and_then_sent_compact() -> None:
    slack = Slack("internal_error", refuse=2)
    posted = await deliver_card(slack.post, REQUEST, delays=(0, 0, 0))
    assert posted is not None
    assert posted[0] == "ts3"
    assert [compact(b) for _, b in slack.tried] == [False, False, True]


async def test_a_refused_content_goes_compact_at_once() -> None:
    slack = Slack("msg_too_long", refuse=1)
    posted = await deliver_card(slack.post, REQUEST, delays=(0, 0, 0))
    assert posted is not None
    assert [compact(b) for _, b in slack.tried] == [False, True]


async def test_a_channel_that_cannot_be_posted_to_is_not_retried() -> None:
    slack = Slack("channel_not_found", refuse=9)
    assert await deliver_card(slack.post, REQUEST, delays=(0, 0, 0)) is None
    assert len(slack.tried) == 1


async def test_when_no_card_gets_through_a_note_says_why() -> None:
    slack = Slack("internal_error", refuse=4)
    assert await deliver_card(slack.post, REQUEST, delays=(0, 0, 0)) is None
    note, blocks = slack.tried[-1]
    assert blocks is None
    assert "Slack refused its card (internal_error)" in note
    assert "Nothing runs without it" in note
