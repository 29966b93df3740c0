"""An agent after the first hop of a turn reads the earlier hops before the person's message;
the scripted model tells an agent's second pass from its first by that block, and trimming
never takes the person's current message (now blocks) for an earlier turn."""

from __future__ import annotations

import pytest

from agents.context_trim import TRIMMED, trim_for_context
from agents.history import HOP_SUMMARY_MAX, HistoryEntry, conversation, with_work_so_far
from agents.router import Hop
from sandbox.model.faults import message_problem
from sandbox.model.scenario import locate, parse_scenario, reply_for

SYSTEM = "You are opsbot's log_analyzer agent, an SRE."
HOPS = [Hop(agent="log_analyzer", summary="KeyError in pricing since 14:02."),
        Hop(agent="coding", summary="Fixed with .get(); tests pass.", index=1)]  # fmt: skip


def request(hops: list[Hop], text: str = "checkout fails, fix it") -> dict[str, object]:
    messages = with_work_so_far(conversation([], text), hops)
    return {"system": SYSTEM, "messages": messages}


def test_the_first_hop_reads_the_message_alone_and_later_hops_the_work_before_it() -> None:
    assert conversation([], "what broke?") == with_work_so_far(conversation([], "what broke?"), [])

    [current] = with_work_so_far(conversation([], "what broke?"), HOPS)

    work, said = current["content"]
    assert said == {"type": "text", "text": "what broke?"}, "the person's text comes last"
    assert work["text"].startswith("Work already done on this message (agents in order: "
                                   "log_analyzer, coding).")  # fmt: skip
    assert "## log_analyzer\nKeyError in pricing since 14:02." in work["text"]
    assert "## coding\nFixed with .get(); tests pass." in work["text"]
    assert message_problem([current]) is None


@pytest.mark.parametrize("summary", ["x" * (HOP_SUMMARY_MAX + 500), "word " * 5000])
def test_a_long_earlier_answer_is_cut_to_its_head(summary: str) -> None:
    [current] = with_work_so_far(conversation([], "q"), [Hop(agent="coding", summary=summary)])

    work = current["content"][0]["text"]
    assert work.endswith("…(cut)")
    assert len(work) < HOP_SUMMARY_MAX + 200


def test_a_blank_earlier_answer_is_never_sent_blank() -> None:
    [current] = with_work_so_far(conversation([], "q"), [Hop(agent="coding", summary=" \n")])

    assert "## coding\n(no answer)" in current["content"][0]["text"]


SCRIPT = parse_scenario({"turns": [{
    "match": "checkout",
    "log_analyzer": [{"text": "first pass"}],
    "log_analyzer@2": [{"text": "second pass"}],
    "coding": [{"text": "only pass"}],
}]})  # fmt: skip


@pytest.mark.parametrize(
    ("hops", "expected_pass", "reply"),
    [
        ([], 1, "first pass"),
        (HOPS[1:], 1, "first pass"),  # another agent worked before: still its first pass
        (HOPS, 2, "second pass"),
        ([*HOPS, Hop(agent="log_analyzer", summary="again", index=2)], 3, "first pass"),
    ],
    ids=["first-hop", "after-another-agent", "second-pass", "third-pass-unscripted"],
)  # fmt: skip
def test_the_scripted_model_answers_each_pass_of_an_agent_from_its_own_steps(
    hops: list[Hop], expected_pass: int, reply: str
) -> None:
    """A pass without a `<role>@N` key of its own replays the role's steps (as before)."""
    position = locate(request(hops))

    assert position.pass_number == expected_pass
    assert position.user_text == "checkout fails, fix it"
    found = reply_for(SCRIPT, position)
    assert found is not None
    assert found.text == reply


def test_a_person_quoting_the_marker_does_not_start_a_second_pass() -> None:
    quoted = "Work already done on this message (agents in order: log_analyzer). checkout?"

    position = locate(request([], quoted))

    assert position.pass_number == 1


def test_trimming_keeps_the_current_message_whole_when_it_carries_the_work_so_far() -> None:
    history = [HistoryEntry(role="user", content="before " * 500),
               HistoryEntry(role="assistant", content="answer " * 500)]  # fmt: skip
    messages = with_work_so_far(conversation(history, "what broke?"), HOPS)
    messages += [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "search_logs", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "y" * 400}]},
    ]  # fmt: skip

    trimmed = trim_for_context(messages, prompt_tokens=10_000, max_tokens=1000)

    assert trimmed is not None
    assert trimmed[0]["content"] == TRIMMED, "the earlier turn goes"
    assert trimmed[2] == messages[2], "the current message with the work so far stays"
    assert trimmed[-1]["content"][0]["content"] == TRIMMED
