"""Slack's escaped markup read back as a person sees it (bot/slack_markup.py, bot/slack_text.py)."""

from __future__ import annotations

import pytest

from bot.slack_markup import Names, decode, references, strip_leading_mention, unescape
from bot.slack_text import attachment_text, blocks_text, message_text

NAMES = Names(
    users={"U123": "casey", "U0LEAD": "robin"},
    channels={"C0INC": "incidents"},
    usergroups={"S0ONCALL": "oncall"},
)


@pytest.mark.parametrize(
    ("sent", "seen"),
    [
        ('grep -c "status&gt;=500" access.log &amp;&amp; tail',
         'grep -c "status>=500" access.log && tail'),
        ("if a &lt; b &amp;&amp; c &gt; d", "if a < b && c > d"),
        ("cat x 2&gt;&amp;1 | head &gt; /tmp/out", "cat x 2>&1 | head > /tmp/out"),
        ("literal &amp;lt; stays an entity once", "literal &lt; stays an entity once"),
        ("AT&amp;T &amp;amp; R&amp;D", "AT&T &amp; R&D"),
    ],
)  # fmt: skip
def test_slack_escapes_are_decoded_once(sent: str, seen: str) -> None:
    assert decode(sent, NAMES) == seen


@pytest.mark.parametrize(
    ("sent", "seen"),
    [
        ("ping <@U123> please", "ping @casey please"),
        ("<@U0LEAD> and <@U123>", "@robin and @casey"),
        ("<@U999> unknown", "@U999 unknown"),  # fail soft: the id stays readable
        ("<@U777|sam> labelled", "@sam labelled"),
        ("see <#C0INC|incidents>", "see #incidents"),
        ("see <#C0INC>", "see #incidents"),
        ("see <#C0GONE>", "see #C0GONE"),
        ("<!subteam^S0ONCALL|@oncall> look", "@oncall look"),
        ("<!subteam^S0ONCALL> look", "@oncall look"),
        ("<!subteam^S0NEW> look", "@S0NEW look"),
        ("<!here> db down", "@here db down"),
        ("<!channel> and <!everyone>", "@channel and @everyone"),
        ("<!here|here> now", "@here now"),
        ("<!date^1700000000^{date_short}|Nov 14, 2023> deploy", "Nov 14, 2023 deploy"),
    ],
)  # fmt: skip
def test_mentions_become_readable_names(sent: str, seen: str) -> None:
    assert decode(sent, NAMES) == seen


@pytest.mark.parametrize(
    ("sent", "seen"),
    [
        ("<https://grafana.example/d/1|dashboard>", "dashboard (https://grafana.example/d/1)"),
        ("<https://x.example>", "https://x.example"),
        ("<https://x.example|https://x.example>", "https://x.example"),
        ("<https://x.example/?a=1&amp;b=2|q &amp; a>", "q & a (https://x.example/?a=1&b=2)"),
        ("<mailto:ops@example.com|ops@example.com>", "ops@example.com"),
        ("<mailto:ops@example.com|the ops list>", "the ops list (mailto:ops@example.com)"),
    ],
)  # fmt: skip
def test_links_show_label_and_target(sent: str, seen: str) -> None:
    assert decode(sent, NAMES) == seen


def test_references_lists_only_what_needs_a_lookup() -> None:
    found = references("<@U1> <@U2|two> <#C1> <#C2|two> <!subteam^S1> <!subteam^S2|@x> <!here>")
    assert (found.users, found.channels, found.usergroups) == ({"U1"}, {"C1"}, {"S1"})


@pytest.mark.parametrize(
    ("sent", "seen"),
    [
        ("<@U0BOT> please investigate this", "please investigate this"),
        ("  <@U0BOT|opsbot>: look at <@U0BOT>", "look at <@U0BOT>"),
        ("thanks <@U0BOT>", "thanks <@U0BOT>"),
    ],
)  # fmt: skip
def test_the_bots_leading_mention_is_stripped(sent: str, seen: str) -> None:
    assert strip_leading_mention(sent, "U0BOT") == seen


def test_unescape_is_the_three_entities_only() -> None:
    assert unescape("&quot;&amp;&#39;") == "&quot;&&#39;"


ALERTMANAGER = {
    "fallback": "[FIRING:1] HighErrorRate checkout",
    "color": "danger",
    "title": "[FIRING:1] HighErrorRate checkout (prod)",
    "title_link": "https://alerts.example/#/alerts?receiver=slack&amp;x=1",
    "text": "*Summary:* 5xx ratio &gt; 5% for 10m\n*Runbook:* <https://runbooks.example/5xx|5xx>",
    "fields": [{"title": "severity", "value": "critical", "short": True}],
    "footer": "Alertmanager",
}


def test_an_attachment_shows_title_text_fields_and_footer_not_the_fallback_twice() -> None:
    text = decode(attachment_text(ALERTMANAGER))
    assert "[FIRING:1] HighErrorRate checkout (prod) (https://alerts.example/#/alerts?rec" in text
    assert "5xx ratio > 5% for 10m" in text
    assert "5xx (https://runbooks.example/5xx)" in text
    assert "severity: critical" in text
    assert text.endswith("Alertmanager")
    assert text.count("HighErrorRate checkout") == 1


def test_an_attachment_with_only_a_fallback_shows_it() -> None:
    assert attachment_text({"fallback": "Disk 91% on db-1", "color": "warning"}) == (
        "Disk 91% on db-1"
    )


def test_an_attachment_with_pretext_author_and_blocks() -> None:
    text = attachment_text({
        "pretext": "Datadog monitor", "author_name": "checkout-api",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "p99 &gt; 2s"}}],
    })  # fmt: skip
    assert decode(text).splitlines() == ["Datadog monitor", "checkout-api", "p99 > 2s"]


BLOCKS = [
    {"type": "header",
     "text": {"type": "plain_text", "text": "Deploy <prod> failed & rolled back"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Service:* checkout &amp; cart"},
     "fields": [{"type": "mrkdwn", "text": "*Owner:* <!subteam^S0ONCALL>"}]},
    {"type": "divider"},
    {"type": "context", "elements": [
        {"type": "image", "image_url": "https://x/i.png", "alt_text": "logo"},
        {"type": "mrkdwn", "text": "by <@U123>"}, {"type": "plain_text", "text": "at 14:02"}]},
    {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text",
                                                               "text": "Ack"}}]},
]  # fmt: skip


def test_blocks_show_header_section_fields_and_context() -> None:
    assert decode(blocks_text(BLOCKS), NAMES).splitlines() == [
        "Deploy <prod> failed & rolled back",
        "*Service:* checkout & cart",
        "*Owner:* @oncall",
        "by @casey · at 14:02",
    ]


def test_rich_text_renders_mentions_links_lists_quotes_and_code() -> None:
    rich = {"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [
            {"type": "user", "user_id": "U123"}, {"type": "text", "text": " see "},
            {"type": "channel", "channel_id": "C0INC"}, {"type": "text", "text": " a<b & c "},
            {"type": "link", "url": "https://x.example", "text": "graph"},
            {"type": "emoji", "name": "fire"}, {"type": "broadcast", "range": "here"}]},
        {"type": "rich_text_list", "style": "bullet", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "two"}]}]},
        {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted"}]},
        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "a && b"}]},
    ]}  # fmt: skip
    assert decode(blocks_text([rich]), NAMES).splitlines() == [
        "@casey see #incidents a<b & c graph (https://x.example):fire:@here",
        "- one", "- two", "> quoted", "```", "a && b", "```",
    ]  # fmt: skip


def test_a_persons_rich_text_is_not_repeated_after_their_text() -> None:
    message = {
        "text": "<@U0BOT> grep &amp;&amp; tail",
        "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "user", "user_id": "U0BOT"}, {"type": "text", "text": " grep && tail"}]}]}],
    }  # fmt: skip
    assert message_text(message) == "<@U0BOT> grep &amp;&amp; tail"


def test_an_apps_message_with_a_summary_text_and_detailed_blocks_keeps_both() -> None:
    message = {"text": "Deploy failed", "blocks": BLOCKS[1:2], "bot_id": "B0DEPLOY"}
    assert message_text(message).splitlines()[0] == "Deploy failed"
    assert "*Service:* checkout &amp; cart" in message_text(message)


def test_a_persons_text_is_what_they_wrote_whatever_the_blocks_say() -> None:
    section = {"type": "rich_text_section",
               "elements": [{"type": "text", "text": "look at <this>"}]}  # fmt: skip
    message = {"text": "look at &lt;this&gt;", "user": "U1",
               "blocks": [{"type": "rich_text", "elements": [section]}]}  # fmt: skip
    assert decode(message_text(message)) == "look at <this>"


def test_an_app_message_with_only_attachments() -> None:
    assert "HighErrorRate" in message_text({"text": "", "attachments": [ALERTMANAGER]})
