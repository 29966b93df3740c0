"""The local page renders what the bot sends as Slack does, in headless Chromium: links and
channel references (a link to a message of this workspace opens that thread in the page),
quotes in mrkdwn and markdown, and a confirm dialog's button styled by the confirm's `style`.

The blocks are the bot's own (`bot.blocks.permalink`, `bot.approval_blocks.approval_card`),
sent with the real slack_sdk client to the local workspace the page shows.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, async_playwright, expect
from slack_sdk.web.async_client import AsyncWebClient

from agents.events import ApprovalRequested
from bot.approval_blocks import approval_card
from bot.blocks import permalink
from bot.dev import new_credentials
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig
from tests.e2e.browser_support import CHROMIUM, NO_CHROMIUM

pytestmark = pytest.mark.e2e
CHANNEL, DOMAIN = "C0INCIDENTS", "opsbot-sandbox"
RED, GREEN = "rgb(224, 30, 90)", "rgb(0, 122, 90)"


@asynccontextmanager
async def page_on_workspace() -> AsyncIterator[tuple[Page, AsyncWebClient, RunningSlack]]:
    """A local workspace, the bot's Slack client for it, and the page in Chromium."""
    assert CHROMIUM, NO_CHROMIUM
    keys = new_credentials()
    slack = await start_slack(SandboxConfig(credentials={
        "bot_token": keys["SLACK_BOT_TOKEN"], "app_token": keys["SLACK_APP_TOKEN"],
        "signing_secret": keys["SLACK_SIGNING_SECRET"]}))  # fmt: skip
    client = AsyncWebClient(keys["SLACK_BOT_TOKEN"], base_url=slack.api_url)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox"]
            )
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("dialog", lambda dialog: dialog.dismiss())
            try:
                yield page, client, slack
            finally:
                await browser.close()
    finally:
        await slack.stop()


async def person_posts(slack: RunningSlack, text: str, thread_ts: str | None = None) -> str:
    body: dict[str, Any] = {"user": "U0ONCALL", "channel": CHANNEL, "text": text}
    if thread_ts:
        body["thread_ts"] = thread_ts
    async with aiohttp.ClientSession() as session, session.post(
        f"{slack.url}/_sandbox/post", json=body
    ) as answer:  # fmt: skip
        return str((await answer.json())["ts"])


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_links_and_channels_render_as_slack_does_and_open_the_thread() -> None:
    async with page_on_workspace() as (page, client, slack):
        root = await person_posts(slack, "checkout is returning 500s")
        reply = await person_posts(slack, "still failing", root)
        link = permalink(DOMAIN, CHANNEL, root)
        reply_link = permalink(DOMAIN, CHANNEL, reply) + f"?thread_ts={root}&cid={CHANNEL}"
        # the reviewer's input first: `/opsbot status` as bot/blocks.py writes a run line
        run_line = f"• “checkout 500” in <#{CHANNEL}> from <@U0ONCALL>: coding (<{link}|thread>)"
        reply_line = f"a reply in <#{CHANNEL}|incidents>: <{reply_link}|the reply>"
        markdown = f"See [the thread]({link}) or [docs](https://example.com/x)."
        other = "elsewhere: <https://other-team.slack.com/archives/C1/p1700000000000100|theirs>"
        status = [
            section(run_line),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": reply_line}]},
            {"type": "markdown", "text": markdown},
            section(other),
        ]
        await client.chat_postMessage(channel=CHANNEL, text="status", blocks=status)
        await client.views_publish(user_id="U0ONCALL", view={"type": "home", "blocks": status})

        await page.goto(slack.url)
        messages = page.locator("#messages")
        await expect(messages).to_contain_text("“checkout 500” in #incidents from @")
        for surface in (messages,):
            text = await surface.inner_text()
            for raw in ("<http", "|thread>", "(thread (", "#C0INCIDENTS", "](http"):
                assert raw not in text, (raw, text)
        external = messages.locator("a", has_text="docs")
        await expect(external).to_have_attribute("target", "_blank")
        await expect(messages.locator("a", has_text="theirs")).to_have_attribute("target", "_blank")

        await messages.locator("a", has_text="thread").first.click()
        await expect(page.locator("#thread")).to_be_visible()
        await expect(page.locator("#thread-messages")).to_contain_text("checkout is returning 500s")
        await expect(page.locator("#thread-messages")).to_contain_text("still failing")
        await page.locator("#close-thread").click()
        await messages.locator("a", has_text="the reply").click()  # a reply's link: its thread
        await expect(page.locator("#thread-messages")).to_contain_text("still failing")
        await page.locator("#close-thread").click()
        await messages.locator("a", has_text="the thread").click()  # a markdown link
        await expect(page.locator("#thread")).to_be_visible()

        await page.locator("[data-home]").click()  # App Home: the same rendering
        home = page.locator("#home")
        await expect(home).to_contain_text("in #incidents from @")
        home_text = await home.inner_text()
        for raw in ("<http", "(thread (", "#C0INCIDENTS", "](http"):
            assert raw not in home_text, (raw, home_text)
        await home.locator("a", has_text="thread").first.click()
        await expect(page.locator("#thread-messages")).to_contain_text("checkout is returning 500s")
        await expect(page.locator("#home")).to_be_hidden()


async def test_quotes_render_as_quotes_in_mrkdwn_and_markdown() -> None:
    async with page_on_workspace() as (page, client, slack):
        root = await person_posts(slack, "disk full")
        lines = [
            "> :gear: `write_file` — ok",  # the reviewer's input: a tool line of the thread
            "&gt; :gear: `shell_execute` — escaped as Slack sends it",
            "plain after",
            ">>> all the rest\nis quoted too",
        ]
        await client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="\n".join(lines))
        await client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="md", blocks=[
            {"type": "markdown", "text": "Findings:\n> the debug log grows\n> with every batch"},
            section("> a quoted section line\nnot quoted"),
        ])  # fmt: skip
        await page.goto(slack.url)
        await page.locator("[data-thread]").first.click()
        thread = page.locator("#thread-messages")
        quotes = thread.locator("blockquote")
        await expect(quotes).to_have_count(4)  # consecutive quoted lines are one quote
        await expect(quotes.nth(0)).to_contain_text("⚙️ write_file — ok")
        await expect(quotes.nth(0)).to_contain_text("⚙️ shell_execute")
        await expect(quotes.nth(1)).to_contain_text("all the rest")
        await expect(quotes.nth(1)).to_contain_text("is quoted too")
        await expect(quotes.nth(2)).to_contain_text("the debug log grows")
        await expect(quotes.nth(2)).to_contain_text("with every batch")
        await expect(quotes.nth(3)).to_have_text("a quoted section line")
        text = await thread.inner_text()
        assert "> " not in text, text
        assert "&gt;" not in text, text
        assert "plain after" in text
        assert "not quoted" in text


def card(risk: str) -> list[dict[str, Any]]:
    return approval_card(ApprovalRequested(
        run_id="r1", approval_id=f"a-{risk}", agent="coding", tool_name="shell_execute",
        risk=risk, preview="find ingest/spool -delete", reason="free space",
        requester="U0ONCALL", expires_at=time.time() + 3600))  # fmt: skip


@pytest.mark.parametrize(
    ("blocks", "button", "title", "colour"),
    [
        (card("write"), "Reject", "Reject this action?", RED),  # the reviewer's input
        (card("critical"), "Approve", "Approve a critical action?", GREEN),  # no style: primary
        ([{"type": "actions", "elements": [{
            "type": "button", "action_id": "wipe", "text": {"type": "plain_text", "text": "Wipe"},
            "confirm": {"title": {"type": "plain_text", "text": "Wipe it?"},
                        "text": {"type": "plain_text", "text": "Gone for good."},
                        "confirm": {"type": "plain_text", "text": "Wipe"},
                        "deny": {"type": "plain_text", "text": "Keep"}, "style": "danger"}}]}],
         "Wipe", "Wipe it?", RED),
    ],
)  # fmt: skip
async def test_a_confirm_dialog_styles_its_button_by_the_confirm_style(
    blocks: list[dict[str, Any]], button: str, title: str, colour: str
) -> None:
    async with page_on_workspace() as (page, client, slack):
        await client.chat_postMessage(channel=CHANNEL, text="card", blocks=blocks)
        await page.goto(slack.url)
        await page.locator("#messages button", has_text=button).click()
        dialog = page.locator(".modal", has_text=title)
        await expect(dialog).to_be_visible()
        yes = dialog.locator("button[data-yes]")
        await expect(yes).to_have_css("background-color", colour)
        await dialog.locator("button[data-no]").click()
        await expect(dialog).to_be_hidden()
