"""The optional LLM judge: does a live answer state each expected fact, in any wording?

Patterns catch the words a case author foresaw; a live model may say the same thing otherwise.
The judge answers through one forced tool call, so its verdict is structured, never prose.
"""

from __future__ import annotations

import json
from typing import Any

from anthropic.types import MessageParam, ToolParam

from agents.model_client import ModelClient
from evals.cases import Case
from evals.observe import CaseSeen
from evals.scoring import Verdicts

JUDGE_SYSTEM = (
    "You are opsbot's judge. You grade an incident bot's answer. For each expected fact, decide "
    "whether the answer states it (the same meaning in any words counts; a guess, a hedge that "
    "contradicts it, or a mere mention of the topic does not). Reply only with the verdict tool."
)
VERDICT_TOOL: ToolParam = {
    "name": "verdict",
    "description": "Whether the answer states each expected fact.",
    "input_schema": {
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "present": {"type": "boolean"},
                        "why": {"type": "string"},
                    },
                    "required": ["name", "present", "why"],
                },
            }
        },
        "required": ["facts"],
    },
}


def judge_prompt(question: str, answer: str, facts: list[dict[str, Any]]) -> str:
    """The user message the judge grades."""
    return (
        f"The engineer asked:\n{question}\n\nThe bot answered:\n<answer>\n{answer}\n</answer>\n\n"
        f"Expected facts (name, and phrasings that would count):\n{json.dumps(facts, indent=1)}"
    )


async def judge_case(client: ModelClient, model: str, case: Case, seen: CaseSeen) -> Verdicts:
    """Ask the judge about every fact of every answered turn."""
    verdicts: Verdicts = {}
    for index, (turn, observed) in enumerate(zip(case.turns, seen.turns, strict=False)):
        facts = [{"name": f.name, "phrasings": f.any} for f in turn.expect.facts]
        if not facts or not observed.answer:
            continue
        question: MessageParam = {
            "role": "user",
            "content": judge_prompt(turn.say, observed.answer, facts),
        }
        reply = await client.messages.create(
            model=model, max_tokens=1024, system=JUDGE_SYSTEM, tools=[VERDICT_TOOL],
            tool_choice={"type": "tool", "name": "verdict"}, messages=[question],
        )  # fmt: skip
        for block in reply.content:
            if block.type == "tool_use" and block.name == "verdict":
                for item in _facts_of(block.input):
                    verdicts[(index, str(item.get("name")))] = (
                        item.get("present") is True,
                        str(item.get("why") or "")[:300],
                    )
    return verdicts


def _facts_of(data: object) -> list[dict[str, Any]]:
    facts = data.get("facts") if isinstance(data, dict) else None
    return [item for item in facts or [] if isinstance(item, dict)]
