"""Network state: a key-value store shared by a thread's agents, and the tools that write it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from tools.base import input_schema_of

FINDINGS_KEY = "findings"
FIX_KEY = "fix"
AWAITING_KEY = "awaiting_reply_from"


class NetworkState:
    """A JSON-valued dict; changed only from workflow code, from step results, so replays agree."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = copy.deepcopy(values or {})

    def get(self, key: str, default: Any = None) -> Any:
        """The value under `key`."""
        return copy.deepcopy(self._values.get(key, default))

    def set(self, key: str, value: Any) -> None:
        """Store a JSON value under `key` (None deletes it)."""
        if value is None:
            self._values.pop(key, None)
        else:
            self._values[key] = copy.deepcopy(value)

    def snapshot(self) -> dict[str, Any]:
        """A copy of every key and value."""
        return copy.deepcopy(self._values)


class Findings(BaseModel):
    """What the log analyzer found; the coding agent reads it."""

    component: str = Field(description="The failing service, module or file")
    error_signature: str = Field(description="The exception or error message that identifies it")
    first_seen: str | None = Field(default=None, description="Time of the first occurrence")
    occurrences: int | None = Field(default=None, ge=0)
    evidence: list[str] = Field(default_factory=list, description="Log lines that prove it")
    suspected_cause: str = Field(description="The most likely root cause")
    needs_input: bool = Field(default=False, description="True if you need the user to answer")


class FixReport(BaseModel):
    """What the coding agent did."""

    status: Literal["fixed", "not_fixed", "needs_input"]
    summary: str
    files_changed: list[str] = Field(default_factory=list)
    checks: str | None = Field(default=None, description="Which checks ran and their outcome")


@dataclass(frozen=True)
class StateTool:
    """A tool whose only effect is on the network state: pure, so it runs in workflow code."""

    name: str
    description: str
    input_model: type[BaseModel]
    apply: Callable[[BaseModel, NetworkState, str], str]

    def definition(self) -> dict[str, Any]:
        """The tool as the Messages API describes it."""
        return {"name": self.name, "description": self.description,
                "input_schema": input_schema_of(self.input_model)}  # fmt: skip

    def run(self, args: dict[str, Any], state: NetworkState, agent: str) -> tuple[bool, str]:
        """Validate and apply; returns (ok, message for the model)."""
        try:
            parsed = self.input_model.model_validate(args)
        except ValidationError as exc:
            return False, f"invalid input for {self.name}: {exc.errors()[0]['msg']}"
        return True, self.apply(parsed, state, agent)


def _record_findings(args: BaseModel, state: NetworkState, agent: str) -> str:
    assert isinstance(args, Findings)
    state.set(FINDINGS_KEY, args.model_dump())
    state.set(AWAITING_KEY, agent if args.needs_input else None)
    return f"findings saved under '{FINDINGS_KEY}'"


def _report_fix(args: BaseModel, state: NetworkState, agent: str) -> str:
    assert isinstance(args, FixReport)
    state.set(FIX_KEY, args.model_dump())
    state.set(AWAITING_KEY, agent if args.status == "needs_input" else None)
    return "fix report saved"


RECORD_FINDINGS = StateTool(
    "record_findings",
    "Save your findings (component, error signature, first occurrence, evidence, cause) "
    "so the next agent can act on them. Call it once you know them.",
    Findings,
    _record_findings,
)
REPORT_FIX = StateTool(
    "report_fix",
    "Report the outcome of your repair: fixed, not_fixed, or needs_input (you asked the user).",
    FixReport,
    _report_fix,
)
