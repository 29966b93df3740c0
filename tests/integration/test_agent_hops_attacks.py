"""Agent hops tried as a demanding on-call engineer would: a router reason carrying a secret
whose shape the routed line changes (a multi-line private key flattened into one line, a key
cut at the reason's length limit), and a model call that fails after a hop and is retried.
The routed line and the plan title show no secret, with streams and without; a retried call
withdraws only its own attempt, never the earlier agent's findings or the routed line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.model.faults import Fault
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack
from tests.integration.test_answer_footer import feedback_messages, footer_messages
from tests.integration.test_task_timeline import slack
from tests.slack_runs import replies, run_in_thread
from tests.support import scripted

__all__ = ["slack"]  # the fixture, imported so pytest finds it here
ANSWER = "Set pool_size back to 20 in config/db.yaml."
FINDINGS = "Errors began at 14:02 UTC, all pool timeouts."
PEM_BODY = "MIIEowIBAAKCAQEA7bq9xPzK2mQyFv3LrT8nW1sHdGcJ0aZeUoYiXk4N5pR6tVbM"
PEM = (
    f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nq8Lw2Hs9Df3Gk7Jm1Np5Qr8Tv0Xy4Zb6\n"
    "-----END RSA PRIVATE KEY-----"
)
AWS_KEY = "AKIAQ7ZX4LPMWN2R8TVB"
SECRETS = {
    # a private key the router quoted over several lines: the routed line is one line
    "multi-line-private-key": (f"the deploy key leaked:\n{PEM}", [PEM_BODY, "q8Lw2Hs9Df3Gk7"]),
    # a key with no space before it, straddling the routed line's length limit
    "key-at-the-cut": ("x" * 285 + AWS_KEY + " rotate it", [AWS_KEY[:12], "AKIAQ7ZX4LPM"]),
}


def _turn(reason: str) -> dict[str, Any]:
    return {
        "match": ".*",
        "router": [{"agent": "log_analyzer", "reason": "look at the logs"},
                   {"agent": "coding", "reason": reason},
                   {"agent": "done", "reason": "answered"}],
        "log_analyzer": [{"text": FINDINGS}],
        "coding": [{"text": ANSWER}],
    }  # fmt: skip


def everything_sent(slack: RunningSlack) -> str:
    """Every argument of every call the bot made to Slack, as one text."""
    return "\n".join(json.dumps(c["args"]) for c in slack.sandbox.calls)


@pytest.mark.parametrize("streams", [True, False], ids=["streams", "no-streams"])
@pytest.mark.parametrize("case", list(SECRETS))
async def test_a_secret_in_a_router_reason_never_reaches_the_thread(
    slack: RunningSlack, database_url: str, workspace: Any, case: str, streams: bool
) -> None:
    reason, fragments = SECRETS[case]
    server = await start_model_server(scripted([_turn(reason)]))
    try:
        outcome, root_ts, _ = await run_in_thread(slack, server, database_url, workspace, (),
                                                  ANSWER, use_streams=streams)  # fmt: skip
    finally:
        await server.stop()

    assert outcome == "succeeded"
    shown = json.dumps(replies(slack, root_ts)) + everything_sent(slack)
    assert ":compass: *coding*" in shown
    for fragment in fragments:
        assert fragment not in shown, (case, fragment)


CODING_ANSWER = ("Set pool_size back to 20 in config/db.yaml, then restart the api pods one "
                 "at a time so the pool refills before traffic shifts back to them.")  # fmt: skip


@pytest.mark.parametrize(
    "fault",
    [Fault(kind="break", after_events=14, role="coding"),
     Fault(kind="stream_error", error_type="overloaded_error", message="Overloaded",
           after_events=14, role="coding")],
    ids=["connection-cut", "overloaded-event"],
)  # fmt: skip
async def test_a_retried_call_after_a_hop_keeps_the_earlier_agent_and_the_routed_line(
    slack: RunningSlack, database_url: str, workspace: Any, fault: Fault
) -> None:
    turn = _turn("the fix is in the config")
    turn["coding"] = [{"text": CODING_ANSWER}]
    server = await start_model_server(scripted([turn], tokens_per_second=20))
    server.state.faults.append(fault)
    try:
        outcome, root_ts, _ = await run_in_thread(slack, server, database_url, workspace, (),
                                                  CODING_ANSWER)  # fmt: skip
    finally:
        await server.stop()

    assert outcome == "succeeded"
    assert not server.state.faults, "the fault was used: the coding call failed once"
    thread = replies(slack, root_ts)
    text = "\n".join(m["text"] for m in thread)
    assert text.count(FINDINGS) == 1, text
    assert text.count(":compass: *coding*") == 1, text
    assert text.count(CODING_ANSWER) == 1, text
    # whatever says text was withdrawn comes after the routed line: the failed attempt was
    # the coding agent's, so the findings and the hop stand
    for marker in ("withdrawn", "retrying"):
        if marker in text:
            assert text.index(marker) > text.index(":compass: *coding*"), text
    assert text.index(FINDINGS) < text.index(":compass: *coding*") < text.index(CODING_ANSWER)
    assert footer_messages(thread) == [len(thread) - 1], "one footer, under the answer"
    assert feedback_messages(thread) == [len(thread) - 1]
