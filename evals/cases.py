"""Evaluation cases: an incident fixture, what the user says, and what a good run does.

A case is one YAML file. Unknown keys are errors (a typo must not silently drop a check), and
every error names the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from evals.recording import Replay
from tools.registry import default_tools

AGENTS = ("log_analyzer", "coding")
MCP_TOOL = re.compile(r"mcp__[A-Za-z0-9_-]+?__[A-Za-z0-9_.-]+")  # an MCP server's tool (tools.mcp)


class CaseError(Exception):
    """A case file that cannot be used, with the file and the reason."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def _valid_patterns(patterns: list[str]) -> list[str]:
    """The patterns, if each is a valid regular expression; else which one is not and why."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"bad pattern {pattern!r}: {error}") from None
    return patterns


Patterns = Annotated[list[str], AfterValidator(_valid_patterns)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Strict):
    """Something the answer must state: any one of the patterns (regex, case-insensitive)."""

    name: str
    any: Patterns = Field(min_length=1)

    def found_in(self, text: str) -> str | None:
        """The first pattern that matches `text`, or None."""
        return next((p for p in self.any if re.search(p, text, re.I | re.S)), None)


Decision = Literal["approve", "reject", "expire"]
"""How the eval answers a card: click Approve, click Reject (with `reject_reason`), or leave it
to expire (its wait ends as if its time ran out, evals/runner.py)."""


class TurnExpect(_Strict):
    """What one turn must (and must not) do."""

    route: list[str] | None = None
    facts: list[Fact] = []
    must_not_say: Patterns = []
    tools_called: list[str] = []
    tools_not_called: list[str] = []
    never_ran: list[str] = []
    never_ran_commands: Patterns = []  # no executed shell command may match one
    approvals: list[str] = []  # the exact cards the turn must raise (none by default)
    outcome: (
        Literal[
            "succeeded",
            "not_fixed",
            "needs_input",
            "rejected",
            "expired",
            "limited",
            "declined",
            "failed",
            "no_answer",
        ]
        | None
    ) = "succeeded"

    @field_validator("tools_called", "tools_not_called", "never_ran", "approvals")
    @classmethod
    def _known_tools(cls, names: list[str] | None) -> list[str] | None:
        known = default_tools().names()
        for name in names or []:
            if name not in known and not MCP_TOOL.fullmatch(name):
                raise ValueError(f"{name!r} is not a tool opsbot records ({', '.join(known)})")
        return names

    @field_validator("route")
    @classmethod
    def _known_agents(cls, route: list[str] | None) -> list[str] | None:
        for agent in route or []:
            if agent not in AGENTS:
                raise ValueError(f"unknown agent {agent!r} (agents: {', '.join(AGENTS)})")
        return route


class CaseTurn(_Strict):
    """One user message, how to answer the approval cards it raises, and its expectations."""

    say: str = Field(min_length=1)
    decide: dict[str, Decision] = {}
    reject_reason: str | None = None
    expect: TurnExpect = TurnExpect()


class Check(_Strict):
    """A command run in the workspace after the case; it must exit 0 (e.g. the tests)."""

    command: list[str] = Field(min_length=1)
    timeout_s: float = 120.0


class Budget(_Strict):
    """Upper bounds for the whole case."""

    max_llm_calls: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None


class PullRequestExpect(_Strict):
    """What the forge must hold after a case in pull-request mode: this many pull (merge)
    requests, each title matching one of `title_any` (regexes), each body containing every
    `body_contains` text, and this many comments; the operator's checkout is never changed."""

    count: int = 1
    title_any: list[str] = []
    body_contains: list[str] = []
    comments: int = 0


class CaseExpect(_Strict):
    """What must hold after every turn has run."""

    files_contain: dict[str, str] = {}
    files_unchanged: list[str] = []
    files_gone: list[str] = []
    check: Check | None = None
    reference_tool_calls: int | None = Field(default=None, ge=1)
    budget: Budget = Budget()
    pull_request: PullRequestExpect | None = None


class Fixture(_Strict):
    """The incident's workspace and logs: a bundled scenario, folders, and/or inline files;
    `pull_request` runs the bot in pull-request mode on a clone of it (evals/pull_requests.py)."""

    scenario: str | None = None
    workspace: str | None = None
    logs: str | None = None
    files: dict[str, str] = {}
    pull_request: Literal["github", "gitlab"] | None = None


class Case(_Strict):
    """One evaluation case."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = ""
    tags: list[str] = []
    fixture: Fixture = Fixture()
    script: str | dict[str, Any] | None = None
    turns: list[CaseTurn] = Field(min_length=1)
    expect: CaseExpect = CaseExpect()
    replay: Replay | None = None  # a captured run's recorded tool outputs (evals/capture.py)
    path: Path | None = None

    @model_validator(mode="after")
    def _decisions_for_gated_tools(self) -> Case:
        for index, turn in enumerate(self.turns, 1):
            extra = set(turn.decide) - set(turn.expect.approvals)
            if extra:
                raise ValueError(f"turn {index} decides {sorted(extra)} but expects no card for it")
        return self

    @property
    def directory(self) -> Path:
        """The folder relative paths in the case are resolved against."""
        return self.path.parent if self.path is not None else Path.cwd()


def load_case(path: Path) -> Case:
    """Parse and validate one case file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CaseError(path, f"cannot read: {error}") from None
    if not isinstance(data, dict):
        raise CaseError(path, "a case is a mapping (name, fixture, turns, expect)")
    try:
        return Case.model_validate({**data, "path": path})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "case"
        raise CaseError(path, f"{where}: {first['msg']}") from None


def load_cases(folder: Path, only: list[str] | None = None) -> list[Case]:
    """Every `*.yaml` case under `folder`, by name; `only` keeps the named ones."""
    if not folder.is_dir():
        raise CaseError(folder, "no such folder of cases")
    cases = [load_case(path) for path in sorted(folder.rglob("*.yaml"))]
    names = [case.name for case in cases]
    if duplicate := next((n for n in names if names.count(n) > 1), None):
        raise CaseError(folder, f"two cases are named {duplicate!r}")
    if only:
        missing = sorted(set(only) - set(names))
        if missing:
            raise CaseError(folder, f"no case named {', '.join(missing)}")
        cases = [case for case in cases if case.name in only]
    if not cases:
        raise CaseError(folder, "holds no *.yaml case")
    return cases
