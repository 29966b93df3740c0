"""Scenarios: per turn, per role (router or agent) and per step, the text and tool calls to emit.

A request is placed without server-side state: the role comes from the system prompt
("You are opsbot's <role>"), the turn from the latest user text, the step from the number of
assistant messages after it. So a retried or replayed request gets the same reply.

An agent the router sends to twice in one turn reads the earlier hops before the person's
message (agents/history.py `with_work_so_far`); its second pass takes its steps from
`<role>@2` (`log_analyzer@2:`), its third from `<role>@3`, and so on, where the turn has that
key, else from `<role>` again.

A step whose tool call waits for approval may carry `if_rejected:`, the steps that follow when
the call did not run (rejected or expired): the request's tool_result for it says so
(`is_error` with status "rejected" or "expired", as agents/workflow.py writes it). The script
then says what did not happen instead of carrying on as if it had.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
_ROLE = re.compile(r"You are opsbot's (\w+)")
_WORK_SO_FAR = re.compile(r"\AWork already done on this message \(agents in order: ([\w, ]*)\)")
"""agents/history.py WORK_SO_FAR: the agents that worked before this request, in order."""


@dataclass(frozen=True)
class Reply:
    """What the model says at one step: some text, then tool calls.

    `if_rejected` holds the steps that follow when this step's tool call did not run;
    `thinking` what the model thinks first when the request asks for thinking (a default
    sentence when empty), followed by a redacted_thinking block with `redacted_thinking`
    (sandbox/model/thinking.py).
    """

    text: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    if_rejected: tuple[Reply, ...] = ()
    stop_reason: str | None = None  # None: tool_use when it calls tools, else end_turn
    thinking: str = ""
    redacted_thinking: bool = False


@dataclass(frozen=True)
class Turn:
    """The replies for one user message (matched by regular expression)."""

    match: re.Pattern[str]
    roles: dict[str, tuple[Reply, ...]]


@dataclass(frozen=True)
class Scenario:
    """A named script plus its timing."""

    name: str
    description: str = ""
    prompt: str = ""
    latency_ms: float = 0.0
    tokens_per_second: float = 0.0
    turns: tuple[Turn, ...] = ()
    directory: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _reply(raw: dict[str, Any]) -> Reply:
    if "agent" in raw:  # a router entry
        return Reply(tool_calls=(("route_to", {"agent": raw["agent"], "reason": raw["reason"]}),))
    calls = tuple((c["name"], dict(c.get("input") or {})) for c in raw.get("tool_calls") or [])
    branch = tuple(_reply(step) for step in raw.get("if_rejected") or [])
    return Reply(text=str(raw.get("text") or ""), tool_calls=calls, if_rejected=branch,
                 thinking=str(raw.get("thinking") or ""),
                 redacted_thinking=bool(raw.get("redacted_thinking")))  # fmt: skip


def parse_scenario(data: dict[str, Any], directory: Path | None = None) -> Scenario:
    """Build a scenario from its YAML data."""
    turns = []
    for raw_turn in data.get("turns") or []:
        roles = {
            role: tuple(_reply(step) for step in steps)
            for role, steps in raw_turn.items()
            if role != "match"
        }
        turns.append(Turn(match=re.compile(raw_turn.get("match", ".*"), re.I | re.S), roles=roles))
    known = {"name", "description", "prompt", "latency_ms", "tokens_per_second", "turns"}
    return Scenario(
        name=str(data.get("name") or (directory.name if directory else "inline")),
        description=str(data.get("description") or ""),
        prompt=str(data.get("prompt") or ""),
        latency_ms=float(data.get("latency_ms") or 0),
        tokens_per_second=float(data.get("tokens_per_second") or 0),
        turns=tuple(turns),
        directory=directory,
        extras={k: v for k, v in data.items() if k not in known},
    )


def load_scenario(name_or_path: str) -> Scenario:
    """Load `sandbox/scenarios/<name>/script.yaml`, or a script file or folder by path."""
    path = Path(name_or_path)
    if not path.exists():
        path = SCENARIOS_DIR / name_or_path
    if path.is_dir():
        path = path / "script.yaml"
    if not path.is_file():
        known = ", ".join(bundled_names())
        raise FileNotFoundError(f"no scenario {name_or_path!r} (bundled: {known})")
    return parse_scenario(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path.parent)


def bundled_names() -> list[str]:
    """The bundled scenarios' names."""
    return sorted(p.name for p in SCENARIOS_DIR.iterdir() if (p / "script.yaml").is_file())


def load_scenarios(names: str) -> Scenario:
    """One scenario, or several ("a,b" or "all") served together.

    Each request is matched against every script's turns in order, so the scripts' `match`
    patterns must tell their incidents apart; `prompt` is the first one's.
    """
    wanted = bundled_names() if names == "all" else [n.strip() for n in names.split(",")]
    loaded = [load_scenario(name) for name in wanted if name]
    if not loaded:
        raise FileNotFoundError(f"no scenario in {names!r}")
    if len(loaded) == 1:
        return loaded[0]
    first = loaded[0]
    return Scenario(
        name=",".join(s.name for s in loaded), description="; ".join(s.name for s in loaded),
        prompt=first.prompt, latency_ms=first.latency_ms,
        tokens_per_second=first.tokens_per_second,
        turns=tuple(turn for scenario in loaded for turn in scenario.turns),
        extras={"scenarios": [{"name": s.name, "description": s.description, "prompt": s.prompt}
                              for s in loaded]},
    )  # fmt: skip


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
    ]


@dataclass(frozen=True)
class Position:
    """Where a request stands in the script."""

    role: str
    user_text: str
    step: int
    rejected_at: int | None = None  # the step whose tool call did not run, if any
    pass_number: int = 1  # 2 when this agent already worked once earlier in the turn


def locate(body: dict[str, Any]) -> Position:
    """Find role, current user message and step of a Messages API request."""
    system = body.get("system") or ""
    if isinstance(system, list):
        system = " ".join(_texts(system))
    role_match = _ROLE.search(system)
    role = role_match.group(1) if role_match else "unknown"
    messages = body.get("messages") or []
    last_user = 0
    for index, message in enumerate(messages):
        if message.get("role") == "user" and _texts(message.get("content")):
            last_user = index
    texts = _texts(messages[last_user].get("content")) if messages else []
    step = sum(1 for m in messages[last_user + 1 :] if m.get("role") == "assistant")
    earlier = _WORK_SO_FAR.match(texts[0]) if len(texts) > 1 else None
    before = [name.strip() for name in earlier[1].split(",")] if earlier else []
    return Position(role=role, user_text=texts[-1] if texts else "", step=step,
                    rejected_at=_first_not_run(messages[last_user + 1 :]),
                    pass_number=1 + before.count(role))  # fmt: skip


NOT_RUN = ("rejected", "expired")


def _did_not_run(block: Any) -> bool:
    """Whether a tool_result block reports a call that was not run (rejected or expired)."""
    if not isinstance(block, dict) or block.get("type") != "tool_result":
        return False
    if not block.get("is_error"):
        return False
    content = block.get("content")
    text = content if isinstance(content, str) else " ".join(_texts(content))
    try:
        status = json.loads(text).get("status")
    except (ValueError, AttributeError):
        status = None
    if isinstance(status, str):
        return status in NOT_RUN
    return any(word in text.lower() for word in NOT_RUN)


def _first_not_run(messages: list[dict[str, Any]]) -> int | None:
    """The step (assistant messages before it) whose tool call first came back not run."""
    assistants = 0
    for message in messages:
        if message.get("role") == "assistant":
            assistants += 1
            continue
        content = message.get("content")
        if isinstance(content, list) and any(_did_not_run(block) for block in content):
            return assistants - 1
    return None


def reply_for(scenario: Scenario, position: Position) -> Reply | None:
    """The scripted reply at a position, or None when the script says nothing there.

    After a call that did not run, the steps come from that step's `if_rejected` branch;
    a step without one carries on with the script.
    """
    for turn in scenario.turns:
        if turn.match.search(position.user_text):
            steps = turn.roles.get(f"{position.role}@{position.pass_number}")
            if steps is None:
                steps = turn.roles.get(position.role, ())
            if position.rejected_at is not None and position.rejected_at < len(steps):
                branch = steps[position.rejected_at].if_rejected
                if branch:
                    at = position.step - position.rejected_at - 1
                    return branch[at] if 0 <= at < len(branch) else None
            return steps[position.step] if position.step < len(steps) else None
    return None


NO_MATCH_REASON = "no bundled incident matches this message"


def scenario_names(scenario: Scenario) -> list[str]:
    """The incident names a scenario (or several served together) scripts."""
    served = scenario.extras.get("scenarios")
    if isinstance(served, list) and served:
        return [str(item.get("name")) for item in served if isinstance(item, dict)]
    return [scenario.name]


def unscripted_sentence(scenario: Scenario) -> str:
    """The one sentence a person gets for a message the script does not know."""
    names = scenario_names(scenario)
    if len(names) == 1:  # `opsbot ask --demo` loads one scenario; the page loads them all
        return (
            f"Only the bundled incident {names[0]} is scripted here: `opsbot ask --demo` "
            "without a question asks its own, `--scenario NAME` picks another bundled one, "
            "or set ANTHROPIC_API_KEY to use a real model."
        )
    listed = f"{', '.join(names[:-1])} and {names[-1]}"
    return (
        f"Only the bundled incidents are scripted here ({listed}): pick one under "
        "“Try an incident” on the page, or set ANTHROPIC_API_KEY to use a real model."
    )


def unscripted_reply(scenario: Scenario, position: Position, body: dict[str, Any]) -> Reply:
    """The reply where the script says nothing.

    The router (a forced `route_to` call) hands the message to the first agent it may, or
    finishes with `done`; an agent declines with `unscripted_sentence` and the stop reason
    `refusal` (https://docs.anthropic.com/en/api/handling-stop-reasons), so the run does not
    read as an answer to the incident.
    """
    tool_choice = body.get("tool_choice") or {}
    if tool_choice.get("type") == "tool":
        tools: list[dict[str, Any]] = body.get("tools") or []
        tool = next((t for t in tools if t.get("name") == tool_choice.get("name")), {})
        choices = tool.get("input_schema", {}).get("properties", {}).get("agent", {}).get("enum")
        if choices:
            agent = "done" if "done" in choices else choices[0]
            arguments = {"agent": agent, "reason": NO_MATCH_REASON}
            return Reply(tool_calls=((str(tool_choice["name"]), arguments),))
    return Reply(text=unscripted_sentence(scenario), stop_reason="refusal")
