"""A model call that fails and is retried after Slack ended the stream it was to write into
(left idle while the call waited for its first token): the next message holds the failed
attempt's text, and the retry withdraws it there, after an agent hop as after a tool call.
Where the call started was left pointing into the ended message, so the retry kept the failed
attempt's text (or none of it was withdrawn) and the answer's head showed twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.model.faults import Fault
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig
from tests.integration import test_task_timeline_hostile as hostile
from tests.integration.test_agent_hops_attacks import CODING_ANSWER, FINDINGS, _turn
from tests.slack_runs import replies, run_in_thread
from tests.support import scripted

IDLE_S = 1.0  # a loaded CI machine stalled past 0.5 s and ended a stream mid-answer
LATENCY_MS = 1800  # each model call waits longer than the workspace keeps an idle stream


@pytest.fixture
async def idle() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_limits=False, stream_idle_s=IDLE_S))
    yield running
    await running.stop()


def after_a_hop() -> tuple[dict[str, Any], str, tuple[Any, ...]]:
    turn = _turn("the fix is in the config")
    turn["coding"] = [{"text": CODING_ANSWER}]
    hostile.FAULTS[:] = []
    return turn, CODING_ANSWER, ()


def after_a_tool() -> tuple[dict[str, Any], str, tuple[Any, ...]]:
    hostile.FAULTS[:] = [Fault(kind="break", after_events=12, role="log_analyzer")]
    return hostile.turn(hostile.calls("count_then_break", "errors")), hostile.ANSWER, (
        hostile.BREAKING,)  # fmt: skip


@pytest.mark.parametrize("case", [after_a_hop, after_a_tool], ids=["after-a-hop", "after-a-tool"])
async def test_a_retry_after_slack_ended_the_idle_stream_shows_the_answer_once(
    idle: RunningSlack, database_url: str, workspace: Any, case: Any
) -> None:
    script, answer, tools = case()
    model = await start_model_server(scripted([script], tokens_per_second=20,
                                              latency_ms=LATENCY_MS))  # fmt: skip
    hostile.SERVING[:] = [model]
    if not tools:
        model.state.faults.append(Fault(kind="break", after_events=14, role="coding"))
    try:
        outcome, root_ts, _ = await run_in_thread(idle, model, database_url, workspace, tools,
                                                  answer)  # fmt: skip
    finally:
        await model.stop()
        hostile.FAULTS[:] = []

    assert outcome == "succeeded"
    assert not model.state.faults, "the call failed once and was retried"
    text = "\n".join(m["text"] for m in replies(idle, root_ts))
    assert "retrying" in text, text
    head = answer[:20]
    assert text.count(answer) == 1, text
    # the failed attempt's text shows only where it is said to be withdrawn
    assert text.count(head) == 1 + text.count("is withdrawn"), text
    if not tools:
        assert text.count(FINDINGS) == 1, text
