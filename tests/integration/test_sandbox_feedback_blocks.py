"""The local workspace takes feedback buttons as Slack does: a `context_actions` block with a
`feedback_buttons` element is posted and shown; a click delivers the clicked button's value;
what Slack's block docs refuse is `invalid_blocks` (unmodified slack_sdk client)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextActionsBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.feedback_blocks import FEEDBACK_ACTION, feedback_block
from sandbox.slack import payloads
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.limits import ApiError
from sandbox.slack.page import state
from sandbox.slack.server import SandboxConfig

CHANNEL = "C0INCIDENTS"
RUN = f"T0SANDBOX:{CHANNEL}:1700000000.000100"


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_limits=False))
    yield running
    await running.stop()


@pytest.fixture
async def client(slack: RunningSlack) -> AsyncIterator[AsyncWebClient]:
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    yield web
    if web.session is not None:
        await web.session.close()


def test_the_block_is_what_slack_sdk_builds_from_it() -> None:
    block = feedback_block(RUN)
    assert ContextActionsBlock(**block).to_dict() == block
    values = [block["elements"][0][side]["value"] for side in ("positive_button",
                                                               "negative_button")]  # fmt: skip
    assert values == [f"up:{RUN}", f"down:{RUN}"]


async def test_a_feedback_block_is_posted_shown_and_clicked(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="answer",
                                           blocks=[feedback_block(RUN)])  # fmt: skip
    shown = state(slack.sandbox, CHANNEL, None, "U0ONCALL")["messages"][-1]
    assert shown["blocks"][0]["type"] == "context_actions"
    seen: list[dict[str, Any]] = []
    slack.sandbox.delivery.interactive = seen.append  # type: ignore[method-assign,assignment]
    await slack.sandbox.click("U0LEAD", CHANNEL, posted["ts"], FEEDBACK_ACTION, f"down:{RUN}")
    action = seen[0]["actions"][0]
    assert seen[0]["type"] == "block_actions"
    assert (action["type"], action["value"], action["text"]["text"], action["block_id"]) == (
        "feedback_buttons", f"down:{RUN}", "👎", "opsbot_feedback",
    )  # fmt: skip
    for value in (None, "sideways"):  # neither button: Slack never sends such a click
        with pytest.raises(ApiError, match="action_not_found"):
            await slack.sandbox.click("U0LEAD", CHANNEL, posted["ts"], FEEDBACK_ACTION, value)
    assert len(seen) == 1


def _broken(change: Any) -> list[dict[str, Any]]:
    block = copy.deepcopy(feedback_block(RUN))
    change(block)
    return [block]


@pytest.mark.parametrize(
    "blocks",
    [
        _broken(lambda b: b["elements"][0].pop("negative_button")),  # required
        _broken(lambda b: b["elements"][0]["positive_button"].pop("value")),  # required
        _broken(lambda b: b["elements"][0]["positive_button"].pop("text")),  # required
        _broken(lambda b: b["elements"][0]["negative_button"]["text"].update(text="n" * 76)),
        _broken(lambda b: b["elements"][0]["negative_button"]["text"].update(type="mrkdwn")),
        _broken(lambda b: b["elements"][0]["positive_button"].update(value="v" * 2001)),
        _broken(lambda b: b["elements"][0]["positive_button"].update(accessibility_label="a" * 76)),
        _broken(lambda b: b["elements"][0].update(action_id="a" * 256)),
        _broken(lambda b: b.update(elements=[])),  # 1 to 5 elements
        _broken(
            lambda b: b.update(
                elements=[{**b["elements"][0], "action_id": f"f{i}"} for i in range(6)]
            )
        ),
        _broken(lambda b: b.update(elements=[b["elements"][0]] * 2)),  # same action_id twice
        _broken(lambda b: b["elements"][0].update(type="button")),  # not in context_actions
        _broken(lambda b: b.update(type="actions")),  # feedback_buttons only in context_actions
    ],
)
async def test_feedback_blocks_slack_refuses_are_invalid_blocks(
    client: AsyncWebClient, blocks: list[dict[str, Any]]
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CHANNEL, text="answer", blocks=blocks)
    assert raised.value.response["error"] == "invalid_blocks"


def test_a_click_on_a_button_that_is_not_there_is_not_made() -> None:
    element = feedback_block(RUN)["elements"][0]
    assert payloads.feedback_choice(element, f"up:{RUN}")["value"] == f"up:{RUN}"
    with pytest.raises(ApiError):
        payloads.feedback_choice(element, f"UP:{RUN}")


async def test_the_page_clicks_a_feedback_button_by_its_value(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    """The page's click endpoint (what web/app.js posts) names the button by its value."""
    import aiohttp

    posted = await client.chat_postMessage(channel=CHANNEL, text="answer",
                                           blocks=[feedback_block(RUN)])  # fmt: skip
    seen: list[dict[str, Any]] = []
    slack.sandbox.delivery.interactive = seen.append  # type: ignore[method-assign,assignment]
    click = {"user": "U0ONCALL", "channel": CHANNEL, "ts": posted["ts"],
             "action_id": FEEDBACK_ACTION}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{slack.url}/_sandbox/click",
                             json={**click, "value": f"up:{RUN}"}) as answer:  # fmt: skip
            assert (await answer.json())["ok"] is True
        async with http.post(f"{slack.url}/_sandbox/click", json=click) as answer:
            assert (answer.status, (await answer.json())["error"]) == (400, "action_not_found")
    assert [body["actions"][0]["value"] for body in seen] == [f"up:{RUN}"]
