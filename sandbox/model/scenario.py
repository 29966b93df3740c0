"""Scenarios: per turn, per role (router or agent) and per step, the text and tool calls to emit.

A request is placed without server-side state: the role comes from the system prompt
("You are opsbot's <role>"), the turn from the latest user text, the step from the number of
assistant messages after it. So a retried or replayed request gets the same reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
_ROLE = re.compile(r"You are opsbot's (\w+)")


@dataclass(frozen=True)
class Reply:
    """What the model says at one step: some text, then tool calls."""

    text: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()


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
    return Reply(text=str(raw.get("text") or ""), tool_calls=calls)


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
    return Position(role=role, user_text=texts[-1] if texts else "", step=step)


def reply_for(scenario: Scenario, position: Position) -> Reply | None:
    """The scripted reply at a position, or None when the script says nothing there."""
    for turn in scenario.turns:
        if turn.match.search(position.user_text):
            steps = turn.roles.get(position.role, ())
            return steps[position.step] if position.step < len(steps) else None
    return None
