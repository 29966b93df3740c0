"""Slack's limits on every write, end to end: a long answer (after a rate limit, past one
message, without streams, without any boundary to cut at) reaches the thread whole and once,
and no write of the bot is refused or truncated by the local workspace, which enforces each
limit as Slack does (sandbox/slack/limits.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.live_stream import MAX_LIVE_TEXT
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.server import Outage, SandboxConfig, SlackSandbox
from tests.slackbot import CHANNEL, running_bot, thread, wait_for
from tests.support import counter_workspace, scripted

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
STREAM_CALLS = ("chat.startStream", "chat.appendStream", "chat.stopStream")


def paragraphs(count: int, width: int = 126) -> list[str]:
    """Numbered paragraphs of about `width` characters, each one findable on its own."""
    body = "the disk on the host filled up because rotated logs were never compressed. " * 3
    return [f"Finding {n:04d}: {body[: width - 15].strip()}." for n in range(count)]


@pytest.fixture
async def long_answer(request: pytest.FixtureRequest) -> AsyncIterator[RunningModelServer]:
    text: str = request.param
    turn = {"match": ".*", "router": [{"agent": "coding", "reason": "explain"}],
            "coding": [{"text": text}]}  # fmt: skip
    server = await start_model_server(scripted([turn], tokens_per_second=4000))
    yield server
    await server.stop()


def bot_messages(sandbox: SlackSandbox, root_ts: str) -> list[dict[str, Any]]:
    return [m for m in thread(sandbox, root_ts) if m["user"] == "U0BOT" and m["ts"] != root_ts]


def written_text(sandbox: SlackSandbox, root_ts: str) -> str:
    """Everything the bot's messages show, in order."""
    return "\n".join(str(m["text"]) for m in bot_messages(sandbox, root_ts))


def assert_within_limits(sandbox: SlackSandbox) -> None:
    refused = [(c["method"], c["error"]) for c in sandbox.calls
               if c["error"] and c["error"] != "ratelimited"]  # fmt: skip
    assert refused == [], "Slack refused a write of the bot"
    assert sandbox.api.violations.seen == [], "a write met one of Slack's limits"
    for call in sandbox.calls:
        if call["method"] in STREAM_CALLS:
            assert len(str(call["args"].get("markdown_text") or "")) <= 12_000


async def ask(
    sandbox: SlackSandbox, answer: str, *, timeout_s: float = 90
) -> tuple[str, list[dict[str, Any]]]:
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why is the disk full?")
    await wait_for(
        sandbox, lambda: any("tokens" in str(m["blocks"]) for m in thread(sandbox, root.ts)),
        timeout_s,
    )  # fmt: skip
    return root.ts, bot_messages(sandbox, root.ts)


def assert_whole_and_once(sandbox: SlackSandbox, root_ts: str, pieces: list[str]) -> None:
    shown = written_text(sandbox, root_ts)
    for piece in pieces:
        assert shown.count(piece) == 1, f"{piece[:40]!r} shown {shown.count(piece)} times"


GIVEN = "\n\n".join(paragraphs(124))  # the reported input: about 15.9k characters


@pytest.mark.parametrize("long_answer", [GIVEN], indirect=True)
async def test_a_long_answer_after_a_rate_limited_first_stream_is_shown_whole_and_once(
    database_url: str, tmp_path: Path, long_answer: RunningModelServer
) -> None:
    assert 15_500 < len(GIVEN) < 16_500
    async with running_bot(database_url, counter_workspace(tmp_path), long_answer.url) as slack:
        sandbox = slack.sandbox
        sandbox.limiter.refuse_next("chat.startStream", retry_after=8)
        root_ts, messages = await ask(sandbox, GIVEN)
    assert_within_limits(sandbox)
    assert any(c["status"] == 429 for c in sandbox.calls), "the first stream was rate-limited"
    assert_whole_and_once(sandbox, root_ts, paragraphs(124))
    live = [m for m in messages if "Finding" in m["text"]]
    assert len(live) >= 2, "the text rolled into a second message"
    assert all(len(m["text"]) <= MAX_LIVE_TEXT for m in live)
    for message in live:  # cut between paragraphs, not inside one (the first opens with the hop)
        text = re.sub(r"^:compass: \*coding\* — [^\n]*\n\n", "", message["text"].strip())
        assert re.fullmatch(r"(Finding \d{4}: [^\n]+(\n\n|$))+", text + "\n\n")


LONGER = "\n".join(paragraphs(400, width=110))  # about 46k: past a posted message's 40,000


@pytest.mark.parametrize("long_answer", [LONGER], indirect=True)
async def test_an_answer_longer_than_a_message_may_hold_goes_on_in_new_messages(
    database_url: str, tmp_path: Path, long_answer: RunningModelServer
) -> None:
    async with running_bot(database_url, counter_workspace(tmp_path), long_answer.url) as slack:
        root_ts, messages = await ask(slack.sandbox, LONGER)
    assert_within_limits(slack.sandbox)
    assert_whole_and_once(slack.sandbox, root_ts, paragraphs(400, width=110))
    assert len([m for m in messages if "Finding" in m["text"]]) >= 5


@pytest.mark.parametrize("long_answer", [GIVEN], indirect=True)
async def test_without_streams_a_long_answer_is_updated_into_messages_within_limits(
    database_url: str, tmp_path: Path, long_answer: RunningModelServer
) -> None:
    config = SandboxConfig(streaming_methods=False)
    async with running_bot(database_url, counter_workspace(tmp_path), long_answer.url,
                           sandbox_config=config) as slack:  # fmt: skip
        root_ts, _ = await ask(slack.sandbox, GIVEN)
    sandbox = slack.sandbox
    refused = [c["error"] for c in sandbox.calls if c["error"] not in (None, "unknown_method")]
    assert refused == []
    assert sandbox.api.violations.seen == []
    assert_whole_and_once(sandbox, root_ts, paragraphs(124))


BLOB = "".join(f"{n:06x}" for n in range(4000))  # 24,000 characters without a space


@pytest.mark.parametrize("long_answer", [f"The dump:\n{BLOB}\nEnd of the dump."], indirect=True)
async def test_text_without_any_boundary_is_cut_hard_and_nothing_is_lost(
    database_url: str, tmp_path: Path, long_answer: RunningModelServer
) -> None:
    async with running_bot(database_url, counter_workspace(tmp_path), long_answer.url) as slack:
        root_ts, messages = await ask(slack.sandbox, BLOB)
    assert_within_limits(slack.sandbox)
    joined = "".join(m["text"].strip() for m in messages)  # the footer is in no text but its own
    assert BLOB in joined.replace("\n", "")
    assert written_text(slack.sandbox, root_ts).count("End of the dump.") == 1


FENCED = "Here is the log:\n```\n" + "\n".join(f"line {n:05d} ERROR boom" for n in range(900))
FENCED += "\n```\nThat is all."


@pytest.mark.parametrize("long_answer", [FENCED], indirect=True)
async def test_a_code_block_cut_in_two_is_closed_and_reopened(
    database_url: str, tmp_path: Path, long_answer: RunningModelServer
) -> None:
    async with running_bot(database_url, counter_workspace(tmp_path), long_answer.url) as slack:
        root_ts, messages = await ask(slack.sandbox, FENCED)
    assert_within_limits(slack.sandbox)
    live = [m for m in messages if "line 0" in m["text"]]
    assert len(live) >= 2
    assert all(m["text"].count("```") % 2 == 0 for m in live), "each part renders as code"
    assert_whole_and_once(slack.sandbox, root_ts, [f"line {n:05d} ERROR boom" for n in range(900)])


PINGS = "\n".join(f"alert {n:04d}: <!here> <!channel> <!everyone> look" for n in range(600))


@pytest.mark.parametrize("long_answer", [PINGS], indirect=True)
async def test_text_that_grows_on_its_way_out_still_fits_each_call(
    database_url: str, tmp_path: Path, long_answer: RunningModelServer
) -> None:
    """Broadcast mentions are escaped on the way out (bot/safe_text.py), which makes a piece
    longer than the renderer cut it: the writer sends it as several calls of one stream."""
    async with running_bot(database_url, counter_workspace(tmp_path), long_answer.url) as slack:

        def streamed_whole() -> bool:
            return "alert 0599" in "".join(text for _, text in long_answer.state.emitted)

        held: list[int] = []

        def hold(args: dict[str, Any]) -> bool:
            """The answer's first append is refused at least once, and again until the model
            has said it all: the rest piles up, however fast or slowly the machine streams."""
            if "alert 0000" not in str(args.get("markdown_text") or ""):
                return False
            held.append(1)
            return len(held) == 1 or not streamed_whole()

        slack.sandbox.outages.append(
            Outage(
                "chat.appendStream",
                error="ratelimited",
                status=429,
                retry_after=1,
                times=120,
                when=hold,
            )
        )
        root_ts, _ = await ask(slack.sandbox, PINGS)
    assert_within_limits(slack.sandbox)
    shown = written_text(slack.sandbox, root_ts)
    assert "<!here>" not in shown
    assert_whole_and_once(slack.sandbox, root_ts, [f"alert {n:04d}:" for n in range(600)])
    calls = [c for c in slack.sandbox.calls if c["method"] in STREAM_CALLS and c["ok"]]
    longest = max(len(c["args"].get("markdown_text") or "") for c in calls)
    assert longest > MAX_LIVE_TEXT, "a piece grew past what the renderer cut"
