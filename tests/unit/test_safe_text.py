"""What the bot writes to Slack can neither ping a crowd nor hide where a link goes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.safe_text import (
    mrkdwn_escape,
    safe_arguments,
    safe_block,
    safe_markdown,
    safe_mrkdwn,
    split_stream_tail,
)
from sandbox.slack.mentions import broadcasts
from sandbox.slack.model import Message

SPECIAL = ["<!channel>", "<!here>", "<!everyone>", "<!subteam^S123>", "<!subteam^S123|@oncall>",
           "<!here|here>", "<!CHANNEL>", "<!group>"]  # fmt: skip
PLAIN = ["@channel", "@here", "@everyone", "ping @Here now", "(@channel)"]


def sent(text: str = "", *, blocks: list[dict[str, Any]] | None = None,
         stream: str = "", link_names: bool = False) -> Message:  # fmt: skip
    """A message as the local workspace would store it."""
    return Message(ts="1.0", channel="C1", user="U0BOT", text=text, blocks=blocks,
                   stream_text=stream, link_names=link_names)  # fmt: skip


@pytest.mark.parametrize("mention", SPECIAL)
def test_a_special_mention_in_mrkdwn_is_shown_as_text_and_notifies_nobody(mention: str) -> None:
    text = safe_mrkdwn(f"FYI {mention} the deploy is done")
    assert broadcasts(sent(text, link_names=True)) == []
    assert mention[1:-1] in text.replace("&lt;", "<").replace("&gt;", ">")  # still readable


@pytest.mark.parametrize("mention", SPECIAL + PLAIN)
def test_no_mention_survives_markdown(mention: str) -> None:
    text = safe_markdown(f"**note** {mention}")
    blocks = [{"type": "markdown", "text": text}]
    assert broadcasts(sent(stream=text, blocks=blocks)) == []


@pytest.mark.parametrize("mention", PLAIN)
def test_a_plain_broadcast_word_is_neutralised_in_every_surface(mention: str) -> None:
    assert broadcasts(sent(safe_mrkdwn(mention), link_names=True)) == []
    assert "\uff20" in safe_mrkdwn(mention)
    assert "\uff20" in safe_markdown(mention)


def test_email_addresses_and_curl_data_files_are_not_mentions() -> None:
    for text in ("mail ops@here.example", "curl -d @.env", "user@channel", "@channels-list"):
        assert safe_markdown(text) == text
        assert safe_mrkdwn(text) == text


@pytest.mark.parametrize(
    ("masked", "shown"),
    [
        ("<https://evil.example/x|click here>", "click here (<https://evil.example/x>)"),
        ("<https://grafana.internal/d/1|https://grafana.internal/d/1>",
         "<https://grafana.internal/d/1>"),
        ("<mailto:a@evil.example|support@bank.example>",
         "support@bank.example (<mailto:a@evil.example>)"),
    ],
)  # fmt: skip
def test_a_masked_mrkdwn_link_shows_its_url(masked: str, shown: str) -> None:
    assert safe_mrkdwn(f"see {masked}") == f"see {shown}"


@pytest.mark.parametrize(
    "link",
    [
        "<https://acme.slack.com/archives/C0INCIDENTS/p1796049697308339|thread>",
        "<https://opsbot-sandbox.slack.com/archives/C0INCIDENTS/p1796049697308339"
        "?thread_ts=1796049697.308339&cid=C0INCIDENTS|card>",
    ],
)
def test_a_link_to_a_slack_message_keeps_its_label(link: str) -> None:
    """A permalink stays inside Slack: the bot's status lines link threads as "thread"."""
    assert safe_mrkdwn(f"({link})") == f"({link})"


@pytest.mark.parametrize(
    ("masked", "shown"),
    [
        ("<https://acme.slack.com.evil.example/archives/C1/p1|thread>",
         "thread (<https://acme.slack.com.evil.example/archives/C1/p1>)"),
        ("<https://evil.example/archives/C1/p1|thread>", "thread (<https://evil.example/archives/C1/p1>)"),
        ("<http://acme.slack.com/archives/C1/p1|thread>", "thread (<http://acme.slack.com/archives/C1/p1>)"),
        ("<https://acme.slack.com/files/U1/F1/x.sh|log>", "log (<https://acme.slack.com/files/U1/F1/x.sh>)"),
        ("<https://a@acme.slack.com/archives/C1/p1|t>", "t (<https://a@acme.slack.com/archives/C1/p1>)"),
    ],
)  # fmt: skip
def test_a_link_that_only_looks_like_a_slack_message_shows_its_url(masked: str, shown: str) -> None:
    assert safe_mrkdwn(f"see {masked}") == f"see {shown}"


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("[click here](https://evil.example)", "click here (https://evil.example)"),
        ("[https://bank.example](https://evil.example/p)",
         "https://bank.example (https://evil.example/p)"),
        ('[docs](<https://evil.example/a> "title")', "docs (https://evil.example/a)"),
        ("![img](https://evil.example/t.png)", "img (https://evil.example/t.png)"),
        ("<https://evil.example/x|login>", "login (https://evil.example/x)"),
    ],
)  # fmt: skip
def test_a_markdown_link_shows_its_url(link: str, shown: str) -> None:
    assert safe_markdown(f"Go: {link}.") == f"Go: {shown}."


def test_user_and_channel_references_are_kept() -> None:
    text = "Approved by <@U0LEAD> in <#C0INCIDENTS|incidents>"
    assert safe_mrkdwn(text) == text


def test_making_text_safe_twice_changes_nothing_more() -> None:
    text = "<!here> [x](https://e.example) <https://e.example|y> @channel"
    for safe in (safe_mrkdwn, safe_markdown):
        assert safe(safe(text)) == safe(text)


def test_escaped_text_contains_no_control_sequence() -> None:
    assert mrkdwn_escape("a <!channel> & <https://e|x>") == (
        "a &lt;!channel&gt; &amp; &lt;https://e|x&gt;"
    )


def test_blocks_rich_text_and_views_are_walked() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel> hi"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "<!subteam^S1>"}]},
        {"type": "markdown", "text": "@here [x](https://evil.example)"},
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "broadcast", "range": "everyone"},
            {"type": "usergroup", "usergroup_id": "S1"},
            {"type": "link", "url": "https://evil.example", "text": "bank"},
            {"type": "text", "text": "<!channel> is literal here"},
        ]}]},
    ]  # fmt: skip
    safe = safe_block(blocks)
    assert broadcasts(sent("x", blocks=safe)) == []
    assert "https://evil.example" in str(safe[3])
    assert "'bank'" not in str(safe[3])
    assert "<!channel> is literal here" in str(safe[3])  # rich text is shown as typed
    view = safe_arguments("views.publish", {"view": {"type": "home", "blocks": blocks}})
    assert broadcasts(sent("x", blocks=view["view"]["blocks"])) == []


def test_every_new_message_is_posted_without_unfurls_or_link_names() -> None:
    posted = safe_arguments("chat.postMessage", {"channel": "C1", "text": "<!here> @here",
                                                 "link_names": True, "parse": "full"})  # fmt: skip
    assert posted["unfurl_links"] is False
    assert posted["unfurl_media"] is False
    assert "link_names" not in posted
    assert "parse" not in posted
    assert broadcasts(sent(posted["text"], link_names=True)) == []
    streamed = safe_arguments("chat.appendStream", {"ts": "1", "markdown_text": "<!channel>"})
    assert broadcasts(sent(stream=streamed["markdown_text"])) == []
    assert safe_arguments("reactions.add", {"name": "eyes", "timestamp": "1"}) == {
        "name": "eyes", "timestamp": "1"}  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["before <!chan", "before <https://evil.example/x|cli", "see [click", "see [click](https://e",
     "hey @cha", "hey @", "x ![i](https://e"],
)  # fmt: skip
def test_a_stream_piece_never_ends_inside_a_mention_or_link(text: str) -> None:
    ready, held = split_stream_tail(text)
    assert ready + held == text
    assert ready.startswith(("before", "see", "hey", "x"))
    assert held


@pytest.mark.parametrize("text", ["a < b and more", "done.", "[REDACTED:x] is gone", "@oncall"])
def test_finished_text_is_not_held(text: str) -> None:
    assert split_stream_tail(text) == (text, "")


def test_pieces_split_anywhere_stay_safe_once_held_back() -> None:
    whole = "Heads up <!channel>: [open the runbook](https://evil.example/r) @here done"
    for cut in range(1, len(whole)):
        ready, held = split_stream_tail(whole[:cut])
        streamed = safe_markdown(ready) + safe_markdown(held + whole[cut:])
        assert broadcasts(sent(stream=streamed)) == [], cut
        assert "](https://evil" not in streamed, cut
