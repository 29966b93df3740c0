"""A model reply cannot ping the channel or hide a link: what reaches the local workspace.

The bot runs for real (Socket Mode, the real slack_sdk) against the local workspace, and the
scripted model answers with every broadcast form and masked links, streamed in small pieces so
that some of them are cut between two appends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.model.server import start_model_server
from sandbox.slack.mentions import broadcasts
from sandbox.slack.server import SandboxConfig
from tests.e2e.test_slack_bot_edges import final_of
from tests.slackbot import CHANNEL, running_bot, wait_for
from tests.support import scripted

BAIT = ("Heads up <!channel> and <!here>, also <!everyone> and <!subteam^S0ONCALL|@oncall>; "
        "plain @channel @here @everyone too. The fix is documented <https://evil.example/login"
        "|in the runbook> and [on the wiki](https://evil.example/wiki).")  # fmt: skip
TURN = {
    "match": "bait",
    "router": [{"agent": "log_analyzer", "reason": "<!here> see <https://evil.example/r|docs>"}],
    "log_analyzer": [{"text": BAIT}],
}
ASKED = "<@U0BOT> bait: checkout is down @here <!here>"


@pytest.mark.parametrize("streams", [True, False], ids=["streamed", "posted"])
async def test_a_model_reply_with_mentions_and_masked_links_reaches_the_channel_neutralised(
    database_url: str, workspace: Path, streams: bool
) -> None:
    server = await start_model_server(scripted([TURN], tokens_per_second=40))
    config = SandboxConfig(streaming_methods=streams)
    try:
        async with running_bot(database_url, workspace, server.url, sandbox_config=config) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, ASKED)
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
            channel = sandbox.workspace.channels[CHANNEL]
            thread = sandbox.workspace.thread(CHANNEL, root.ts)
            posts = [c["args"] for c in sandbox.calls if c["method"] == "chat.postMessage"]
    finally:
        await server.stop()
    ours = [m for m in thread if m.user == "U0BOT"]
    assert ours  # the hop, the answer and its footer: one stream
    assert [(m.ts, broadcasts(m)) for m in ours if broadcasts(m)] == []
    shown = " ".join(f"{m.visible_text()} {m.blocks}" for m in ours)
    assert "https://evil.example/login" in shown
    assert "https://evil.example/wiki" in shown
    assert "|in the runbook>" not in shown
    assert "](https://evil.example" not in shown
    assert "in the runbook" in shown, "the words stay; only the mention or mask goes"
    assert posts or streams, "without streams the reply is posted (and updated)"
    assert all(p.get("unfurl_links") is False and p.get("unfurl_media") is False for p in posts)
    # The requester's own words are theirs: the bot did not rewrite them.
    assert channel.messages[root.ts].text == ASKED
