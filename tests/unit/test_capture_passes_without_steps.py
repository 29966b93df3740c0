"""A captured run without step records (the tool calls and the answer are all there is)
still scripts each pass of an agent routed to more than once under its own key
(`<agent>@2`), so the replay makes each call once, in its pass, as the run did."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import RunRow, ToolCallRow
from evals.capture import _script_turn, _Turn


def _turn(agents: list[str], calls: list[tuple[str, str]]) -> dict[str, Any]:
    run = RunRow(id="r", agents=agents, answer="The answer.")
    rows = [ToolCallRow(run_id="r", tool_use_id=f"t{i}", name=name, agent=agent,
                        args={"n": i}) for i, (agent, name) in enumerate(calls)]  # fmt: skip
    return _script_turn(_Turn(run=run, say="why?", calls=rows, approvals=[]), [])


def _made(steps: list[dict[str, Any]]) -> list[Any]:
    return [c["input"]["n"] for s in steps for c in s.get("tool_calls", [])]


@pytest.mark.parametrize(
    ("agents", "calls", "passes"),
    [(["log_analyzer", "coding", "log_analyzer"],
      [("log_analyzer", "search_logs"), ("coding", "read_file"), ("log_analyzer", "search_logs")],
      {"log_analyzer": [0], "coding": [1], "log_analyzer@2": [2]}),
     (["log_analyzer", "coding", "log_analyzer", "coding", "log_analyzer"],
      [("log_analyzer", "a"), ("log_analyzer", "b"), ("coding", "c"), ("log_analyzer", "d"),
       ("log_analyzer", "e")],
      {"log_analyzer": [0, 1], "coding": [2], "log_analyzer@2": [3, 4], "coding@2": [],
       "log_analyzer@3": []}),
     (["coding", "log_analyzer", "coding"],
      [("log_analyzer", "a"), ("coding", "b")],
      {"coding": [], "log_analyzer": [0], "coding@2": [1]})],
    ids=["twice", "three-passes", "first-pass-without-calls"],
)  # fmt: skip
def test_each_pass_scripts_its_own_calls(
    agents: list[str], calls: list[tuple[str, str]], passes: dict[str, list[int]]
) -> None:
    script = _turn(agents, calls)

    assert {k: _made(v) for k, v in script.items() if k not in ("match", "router")} == passes
    assert [r["agent"] for r in script["router"]] == [*agents, "done"]
    last = [k for k in passes if k.split("@")[0] == agents[-1]][-1]
    assert script[last][-1] == {"text": "The answer."}, "the answer ends the last pass"
    assert sum("text" in s for k, v in script.items() if k not in ("match", "router")
               for s in v) == 1  # fmt: skip


def test_a_single_pass_scripts_as_before() -> None:
    script = _turn(["log_analyzer"], [("log_analyzer", "a"), ("coding", "stray")])
    assert script["log_analyzer"] == [{"tool_calls": [{"name": "a", "input": {"n": 0}}]},
                                      {"text": "The answer."}]  # fmt: skip
    assert set(script) == {"match", "router", "log_analyzer"}
