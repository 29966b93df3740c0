"""The router: completion check, then sticky routing, then an LLM classifier (`route_to`)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agents.llm import ModelReply, ModelRequest, Usage
from agents.specs import AGENT_NAMES, CODING, AgentSpec
from agents.state import AWAITING_KEY

DONE = "done"
MAX_HOPS = 4
ROUTE_TOOL = "route_to"
MAX_REASON = 300
"""Characters of the classifier's reason kept. The reason is the model's tool input, not yet
redacted: a cut never keeps a piece of a word, which could be the head of a key too short for
the redactor to recognise (bot/renderer.py redacts the reason before it is shown)."""


class Hop(BaseModel):
    """One agent's part of the current turn, as the router sees it."""

    model_config = ConfigDict(frozen=True)

    agent: str
    summary: str
    needs_input: bool = False
    index: int = 0
    started_at: float = 0.0


class RouteInput(BaseModel):
    """What the router decides on."""

    model_config = ConfigDict(frozen=True)

    message: str
    history_tail: list[str] = []
    state: dict[str, Any] = {}
    hops: list[Hop] = []


class RouteDecision(BaseModel):
    """The agent for the next hop (or `done`) and why."""

    model_config = ConfigDict(frozen=True)

    agent: str
    reason: str
    rule: Literal["completion", "sticky", "classifier", "fallback"]
    usage: Usage = Usage()
    decided_at: float = 0.0


def route_by_rules(route: RouteInput) -> RouteDecision | None:
    """The decisions that need no model: completion and sticky routing."""
    if route.hops:
        last = route.hops[-1]
        if len(route.hops) >= MAX_HOPS:
            return RouteDecision(agent=DONE, reason=f"{MAX_HOPS} agents ran", rule="completion")
        if last.needs_input:
            return RouteDecision(
                agent=DONE, reason=f"{last.agent} is waiting for your reply", rule="completion"
            )
        if last.agent == CODING:
            return RouteDecision(agent=DONE, reason="the coding agent reported", rule="completion")
        return None
    awaiting = route.state.get(AWAITING_KEY)
    if awaiting in AGENT_NAMES:
        return RouteDecision(
            agent=awaiting, reason=f"{awaiting} asked a question; this is the reply", rule="sticky"
        )
    return None


def _route_tool(choices: list[str]) -> dict[str, Any]:
    return {
        "name": ROUTE_TOOL,
        "description": "Hand the conversation to one agent, or finish the turn with 'done'.",
        "input_schema": {
            "type": "object",
            "properties": {
                "agent": {"type": "string", "enum": choices},
                "reason": {"type": "string", "description": "One short sentence."},
            },
            "required": ["agent", "reason"],
        },
    }


def allowed_choices(route: RouteInput) -> list[str]:
    """The classifier's options: the agents, plus `done` once one agent has run."""
    return [*AGENT_NAMES, DONE] if route.hops else list(AGENT_NAMES)


def classifier_request(route: RouteInput, model: str, agents: dict[str, AgentSpec]) -> ModelRequest:
    """The `route_to` call: context and message first, then each hop of this turn."""
    roster = "\n".join(f"- {spec.name}: {spec.description}" for spec in agents.values())
    system = (
        "You are opsbot's router. Choose which agent handles the engineer's message next.\n"
        f"Agents:\n{roster}\n- done: the turn is complete.\n"
        "Investigate with log_analyzer first unless the cause is already known; "
        "hand to coding only when a code change is needed and the findings support it."
    )
    context = {"recent_conversation": route.history_tail, "state_keys": sorted(route.state)}
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Context: " + json.dumps(context)},
                {"type": "text", "text": route.message},
            ],
        }
    ]
    for index, hop in enumerate(route.hops):
        call_id = f"route_{index}"
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": call_id, "name": ROUTE_TOOL,
                     "input": {"agent": hop.agent, "reason": "previous decision"}},
                ],
            }
        )  # fmt: skip
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call_id,
                     "content": f"{hop.agent} finished: {hop.summary[:1500]}"},
                ],
            }
        )  # fmt: skip
    return ModelRequest(
        model=model,
        system=system,
        messages=messages,
        tools=[_route_tool(allowed_choices(route))],
        max_tokens=300,
        tool_choice={"type": "tool", "name": ROUTE_TOOL},
    )


def decision_from_reply(route: RouteInput, reply: ModelReply) -> RouteDecision:
    """Read the classifier's `route_to` call; an invalid answer falls back to a safe choice."""
    choices = allowed_choices(route)
    for use in reply.tool_uses:
        agent = use.input.get("agent")
        if use.name == ROUTE_TOOL and agent in choices:
            reason = clipped_reason(str(use.input.get("reason") or "no reason given"))
            return RouteDecision(agent=agent, reason=reason, rule="classifier", usage=reply.usage)
    return fallback_decision(route, "the router's answer was not a valid route_to call").model_copy(
        update={"usage": reply.usage}
    )


def clipped_reason(reason: str) -> str:
    """At most `MAX_REASON` characters of `reason`, cut between words (see `MAX_REASON`)."""
    if len(reason) <= MAX_REASON:
        return reason
    head = reason[: MAX_REASON - 2]  # room for " …"
    if not reason[MAX_REASON - 2].isspace():
        head = re.sub(r"\S+$", "", head)  # the word the cut went through is dropped whole
    return f"{head.rstrip()} …".lstrip()


def fallback_decision(route: RouteInput, why: str) -> RouteDecision:
    """Without a usable classifier: investigate first, and stop after one hop."""
    agent = DONE if route.hops else AGENT_NAMES[0]
    return RouteDecision(agent=agent, reason=why, rule="fallback")
