"""Routing rules that need no model, and reading the classifier's answer."""

from __future__ import annotations

from agents.llm import ModelReply, Usage
from agents.router import Hop, RouteInput, decision_from_reply, route_by_rules


def test_a_fresh_message_goes_to_the_classifier() -> None:
    assert route_by_rules(RouteInput(message="checkout is down")) is None


def test_sticky_routing_gives_the_reply_to_the_agent_that_asked() -> None:
    route = RouteInput(message="yes, go ahead", state={"awaiting_reply_from": "coding"})
    decision = route_by_rules(route)
    assert decision is not None
    assert (decision.agent, decision.rule) == ("coding", "sticky")


def test_the_turn_completes_after_coding_or_a_question() -> None:
    after_coding = RouteInput(message="m", hops=[Hop(agent="coding", summary="fixed")])
    asked = RouteInput(message="m", hops=[Hop(agent="log_analyzer", summary="?", needs_input=True)])
    assert route_by_rules(after_coding).agent == "done"  # type: ignore[union-attr]
    assert route_by_rules(asked).agent == "done"  # type: ignore[union-attr]


def test_an_invalid_classifier_answer_falls_back_to_investigating() -> None:
    reply = ModelReply(
        model="m", stop_reason="tool_use", usage=Usage(), duration_ms=1,
        content=[{"type": "tool_use", "id": "t", "name": "route_to",
                  "input": {"agent": "rm -rf", "reason": "x"}}],
    )  # fmt: skip
    decision = decision_from_reply(RouteInput(message="m"), reply)
    assert (decision.agent, decision.rule) == ("log_analyzer", "fallback")
