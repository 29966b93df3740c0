"""The footer closing the answer's stream, tried as a demanding on-call engineer would: Slack
refuses the stop for its blocks (they are malformed to it, or too long). The stream is still
stopped (sent again without the blocks, which follow in one final message): a stream left
open keeps its row, and the next start would mark the complete answer interrupted and set the
finished thread's session back to processing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import Outage
from tests.integration.test_answer_footer import (
    answer_count,
    feedback_messages,
    footer_messages,
    stop_calls,
)
from tests.integration.test_task_timeline import ANSWER, TOOLS, model, slack
from tests.slack_runs import CHANNEL, replies, run_in_thread

__all__ = ["model", "slack"]  # the fixtures, imported so pytest finds them here


def live_rows(database_url: str) -> list[Any]:
    with create_engine(database_url).connect() as connection:
        return list(connection.execute(text("SELECT ts FROM opsbot_live_messages")).all())


@pytest.mark.parametrize("error", ["invalid_blocks", "msg_blocks_too_long", "invalid_arguments"])
async def test_a_stop_refused_for_its_blocks_still_stops_the_stream(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Any,
    error: str,
) -> None:  # fmt: skip
    slack.sandbox.outages.append(Outage("chat.stopStream", error=error, times=1,
                                        when=lambda args: bool(args.get("blocks"))))  # fmt: skip
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, TOOLS,
                                              ANSWER)  # fmt: skip

    assert outcome == "succeeded"
    still = [m.ts for m in slack.sandbox.workspace.thread(CHANNEL, root_ts) if m.streaming]
    assert still == [], "no message of the thread is left streaming"
    assert live_rows(database_url) == [], "nothing for the next start to mark interrupted"
    thread = replies(slack, root_ts)
    answered = next(m["ts"] for m in thread if ANSWER in m["text"])
    stops = [a for a in stop_calls(slack) if a["ts"] == answered]
    assert [bool(a.get("blocks")) for a in stops] == [True, False]
    assert {a["session_status"] for a in stops} == {"active"}
    assert footer_messages(thread) == [len(thread) - 1]
    assert feedback_messages(thread) == [len(thread) - 1]
    assert answer_count(thread) == 1
    assert ANSWER not in thread[-1]["text"], "the final message repeats none of the answer"
