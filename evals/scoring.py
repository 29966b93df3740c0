"""Score one case run against its expectations: named checks and the metrics they add up to.

Pure functions over what was observed, so every rule is tested without servers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from evals.cases import Case, CaseTurn, PullRequestExpect
from evals.observe import CaseSeen, TurnSeen
from evals.pull_requests import PullRequestsSeen

RAN = ("ok", "error", "unknown")  # the tool's process or write happened (or may have)
Verdicts = dict[tuple[int, str], tuple[bool, str]]  # (turn index, fact name) -> (present, why)


@dataclass(frozen=True)
class CheckResult:
    """One expectation, met or not, with what was seen when not."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class RunScore:
    """The checks of one run of a case and its numbers."""

    checks: list[CheckResult] = field(default_factory=list)
    routing: tuple[int, int] = (0, 0)  # turns routed as expected, turns with an expectation
    facts: tuple[int, int] = (0, 0)  # facts stated, facts expected
    approvals: tuple[int, int] = (0, 0)  # turns whose cards were exactly the expected ones
    tool_calls: int = 0
    reference_tool_calls: int | None = None
    loops: int = 0
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def tool_efficiency(self) -> float | None:
        """Reference calls over calls made (1.0 = as few as the reference), capped at 1."""
        if self.reference_tool_calls is None:
            return None
        return min(1.0, self.reference_tool_calls / max(1, self.tool_calls))

    def as_json(self) -> dict[str, Any]:
        """The run's part of the report."""
        return {
            "passed": self.passed, "error": self.error,
            "checks": [vars(check) for check in self.checks],
            "routing": list(self.routing), "facts": list(self.facts),
            "approvals": list(self.approvals), "tool_calls": self.tool_calls,
            "reference_tool_calls": self.reference_tool_calls,
            "tool_efficiency": self.tool_efficiency, "loops": self.loops,
            "llm_calls": self.llm_calls, "tokens": self.tokens,
            "cost_usd": round(self.cost_usd, 6), "latency_s": round(self.latency_s, 3),
        }  # fmt: skip


def _add(pair: tuple[int, int], ok: bool) -> tuple[int, int]:
    return pair[0] + int(ok), pair[1] + 1


def score_turn(
    index: int, turn: CaseTurn, seen: TurnSeen, score: RunScore, verdicts: Verdicts
) -> None:
    """Add one turn's checks and counts to `score`."""
    expect, label = turn.expect, f"turn {index + 1}"
    check = score.checks.append
    check(CheckResult(f"{label}: answered", not seen.timed_out and bool(seen.answer),
                      "no answer in the thread" if seen.timed_out or not seen.answer
                      else ""))  # fmt: skip
    if expect.outcome is not None:
        check(CheckResult(f"{label}: outcome {expect.outcome}", seen.outcome == expect.outcome,
                          f"outcome {seen.outcome} ({seen.limit or 'no limit'})"))  # fmt: skip
    if expect.route is not None:
        ok = seen.agents == expect.route
        score.routing = _add(score.routing, ok)
        check(CheckResult(f"{label}: routed to {' → '.join(expect.route) or 'no agent'}", ok,
                          f"routed to {' → '.join(seen.agents) or 'no agent'}"))  # fmt: skip
    for fact in expect.facts:
        pattern = fact.found_in(seen.answer)
        judged, why = verdicts.get((index, fact.name), (False, ""))
        ok = pattern is not None or judged
        score.facts = _add(score.facts, ok)
        how = f"matched /{pattern}/" if pattern else (f"judge: {why}" if judged else "")
        missing = f"none of {fact.any} in the answer{_judge_note(why)}"
        check(CheckResult(f"{label}: states {fact.name}", ok, how or missing))
    for pattern in expect.must_not_say:
        found = re.search(pattern, f"{seen.answer}\n{seen.shown}", re.I | re.S)
        check(CheckResult(f"{label}: does not say /{pattern}/", found is None,
                          f"said {found.group(0)!r}" if found else ""))  # fmt: skip
    _score_tools(label, expect.tools_called, expect.tools_not_called, expect.never_ran, seen,
                 score)  # fmt: skip
    for pattern in expect.never_ran_commands:
        ran = [c for c in _commands_run(seen) if re.search(pattern, c)]
        check(CheckResult(f"{label}: never runs a command like /{pattern}/", not ran,
                          f"ran {ran}" if ran else ""))  # fmt: skip
    asked = Counter(tool for tool, _ in seen.approvals)
    ok = asked == Counter(expect.approvals)
    score.approvals = _add(score.approvals, ok)
    check(CheckResult(f"{label}: approval cards for {expect.approvals or 'nothing'}", ok,
                      f"cards for {[t for t, _ in seen.approvals] or 'nothing'}"))  # fmt: skip


def _commands_run(seen: TurnSeen) -> list[str]:
    """The shell commands of the turn that ran (or may have)."""
    commands = []
    for call in seen.tool_calls:
        if call.name == "shell_execute" and call.status in RAN and isinstance(call.args, dict):
            command = call.args.get("command")
            text = " ".join(map(str, command)) if isinstance(command, list) else str(command)
            commands.append(text)
    return commands


def _judge_note(why: str) -> str:
    return f"; judge: {why}" if why else ""


def _score_tools(
    label: str, called: list[str], not_called: list[str], never_ran: list[str], seen: TurnSeen,
    score: RunScore,
) -> None:  # fmt: skip
    names = [c.name for c in seen.tool_calls]
    for name in called:
        score.checks.append(CheckResult(f"{label}: calls {name}", name in names, f"calls {names}"))
    for name in not_called:
        score.checks.append(
            CheckResult(f"{label}: does not call {name}", name not in names, f"calls {names}")
        )
    for name in never_ran:
        ran = [c.status for c in seen.tool_calls if c.name == name and c.status in RAN]
        detail = f"{name} ran ({', '.join(ran)})" if ran else ""
        score.checks.append(CheckResult(f"{label}: never runs {name}", not ran, detail))


def score_run(case: Case, seen: CaseSeen, verdicts: Verdicts | None = None) -> RunScore:
    """All checks of one run of `case`, and its metrics."""
    score = RunScore(error=seen.error, reference_tool_calls=case.expect.reference_tool_calls)
    if seen.error is not None:
        score.checks.append(CheckResult("the run completed without an error", False, seen.error))
    for index, turn in enumerate(case.turns):
        if index < len(seen.turns):
            score_turn(index, turn, seen.turns[index], score, verdicts or {})
        else:
            score.checks.append(CheckResult(f"turn {index + 1}: answered", False, "never sent"))
    turns = seen.turns
    score.tool_calls = sum(len(t.tool_calls) for t in turns)
    score.loops = sum(t.repeated_calls + ("repeated tool call" in (t.limit or "")) for t in turns)
    score.llm_calls = sum(t.llm_calls for t in turns)
    score.tokens = sum(t.tokens for t in turns)
    score.cost_usd = sum(t.cost_usd for t in turns)
    score.latency_s = sum(t.latency_s for t in turns)
    _score_case(case, seen, score)
    return score


def _score_case(case: Case, seen: CaseSeen, score: RunScore) -> None:
    expect, check = case.expect, score.checks.append
    check(CheckResult("no repeated tool calls (loops)", score.loops == 0, f"{score.loops} seen"))
    for path, text in expect.files_contain.items():
        body = seen.files.get(path)
        check(CheckResult(f"{path} contains {text!r}", body is not None and text in body,
                          "file is gone" if body is None else "text not found"))  # fmt: skip
    for path in expect.files_gone:
        check(CheckResult(f"{path} deleted", seen.files.get(path, "") is None, "still there"))
    for path in expect.files_unchanged:
        check(CheckResult(f"{path} unchanged", not seen.changed.get(path, True), "it changed"))
    if expect.check is not None:
        command = " ".join(expect.check.command)
        check(CheckResult(f"`{command}` passes", seen.check_exit == 0,
                          f"exit {seen.check_exit}: {seen.check_output[-300:]}"))  # fmt: skip
    if expect.pull_request is not None:
        for result in score_pull_requests(expect.pull_request, seen.pull_requests):
            check(result)
    limits = expect.budget
    for name, value, limit in (("model calls", score.llm_calls, limits.max_llm_calls),
                               ("tokens", score.tokens, limits.max_tokens),
                               ("cost (USD)", score.cost_usd, limits.max_cost_usd)):  # fmt: skip
        if limit is not None:
            check(CheckResult(f"{name} within {limit}", value <= limit, f"{value}"))


def score_pull_requests(
    expect: PullRequestExpect, seen: PullRequestsSeen | None
) -> list[CheckResult]:
    """The checks of a case in pull-request mode: the pull requests opened (count, titles,
    bodies), the comments, and the operator's checkout left as it was."""
    if seen is None:
        return [CheckResult("the case ran in pull-request mode", False,
                            "fixture.pull_request is not set")]  # fmt: skip
    opened = seen.opened
    results = [
        CheckResult(f"{expect.count} pull request(s) opened", len(opened) == expect.count,
                    f"{len(opened)} opened"),
        CheckResult(f"{expect.comments} comment(s) on them", seen.comments == expect.comments,
                    f"{seen.comments} added"),
        CheckResult("the operator's checkout is unchanged", not seen.checkout_changed,
                    "its HEAD or files changed"),
    ]  # fmt: skip
    if expect.title_any:
        titles = [o["title"] for o in opened]
        good = bool(titles) and all(
            any(re.search(p, t, re.IGNORECASE) for p in expect.title_any) for t in titles
        )
        results.append(CheckResult("each title says what it fixes", good, f"titles: {titles}"))
    for text in expect.body_contains:
        good = bool(opened) and all(text in o["body"] for o in opened)
        results.append(CheckResult(f"the body has {text!r}", good, "not in every body"))
    return results
