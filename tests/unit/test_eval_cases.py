"""Eval cases: the bundled set covers what it must, and a bad case file fails with its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import CaseError, load_cases
from evals.cli import BUNDLED_CASES
from evals.fixture import offline_script, prepare_workspace


def test_the_bundled_cases_span_both_agents_and_the_hard_situations() -> None:
    cases = load_cases(BUNDLED_CASES)
    assert len(cases) >= 12
    routes = [agent for c in cases for t in c.turns for agent in t.expect.route or []]
    assert {"log_analyzer", "coding"} <= set(routes)
    assert any(len(c.turns) > 1 for c in cases), "a multi-turn thread"
    assert any("reject" in t.decide.values() for c in cases for t in c.turns), "a rejection"
    tags = {tag for c in cases for tag in c.tags}
    assert {"injection", "honesty", "secrets", "easy", "medium", "hard"} <= tags
    not_found = next(c for c in cases if c.name == "not-found")
    assert not_found.turns[0].expect.must_not_say, "a guess must fail the not-found case"


def test_every_bundled_case_has_an_offline_transcript_and_a_fixture(tmp_path: Path) -> None:
    for case in load_cases(BUNDLED_CASES):
        script = offline_script(case)
        assert script.turns, case.name
        workspace = prepare_workspace(case, tmp_path / case.name)
        assert (workspace / ".git").is_dir()
        assert list((workspace / "logs").glob("*.log")), case.name


def test_inline_fixture_files_land_in_the_workspace(tmp_path: Path) -> None:
    (case,) = load_cases(BUNDLED_CASES, ["secret-in-logs"])
    workspace = prepare_workspace(case, tmp_path)
    assert "AWS_SECRET_ACCESS_KEY" in (workspace / "logs" / "boot.log").read_text()
    assert (workspace / "checkout" / "pricing.py").is_file()


def test_a_borrowed_role_takes_the_bundled_steps() -> None:
    (case,) = load_cases(BUNDLED_CASES, ["checkout-two-turns"])
    second = offline_script(case).turns[1]
    assert [name for reply in second.roles["coding"] for name, _ in reply.tool_calls] == [
        "read_file", "write_file", "shell_execute", "report_fix",
    ]  # fmt: skip


GOOD = "name: ok\nturns: [{say: hi}]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just a list\n", "a case is a mapping"),
        ("name: x\nturns: [{say: hi}]\nexpectt: {}\n", "expectt: Extra inputs are not permitted"),
        ("name: x\nturns: []\n", "turns: List should have at least 1 item"),
        ("name: x\nturns: [{say: hi, expect: {facts: [{name: f, any: ['(']}]}}]\n",
         "bad pattern '('"),
        ("name: x\nturns: [{say: hi, expect: {tools_called: [rm_rf]}}]\n",
         "'rm_rf' is not a tool opsbot records"),
        ("name: x\nturns: [{say: hi, expect: {route: [planner]}}]\n", "unknown agent 'planner'"),
        ("name: x\nturns: [{say: hi, decide: {write_file: reject}}]\n",
         "turn 1 decides ['write_file'] but expects no card for it"),
        ("name: Bad Name\nturns: [{say: hi}]\n", "name: String should match pattern"),
        ("name: x\nturns: [{say: hi, decide: {write_file: maybe}, "
         "expect: {approvals: [write_file]}}]\n",
         "Input should be 'approve', 'reject' or 'expire'"),
        ("name: x\nturns: [{say: hi}\n", "cannot read"),
    ],
)  # fmt: skip
def test_a_bad_case_file_names_the_file_and_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(CaseError) as caught:
        load_cases(tmp_path)
    assert str(tmp_path / "bad.yaml") in str(caught.value)
    assert message in str(caught.value)


def test_folders_without_cases_duplicates_and_unknown_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="no such folder"):
        load_cases(tmp_path / "missing")
    with pytest.raises(CaseError, match="holds no"):
        load_cases(tmp_path)
    (tmp_path / "a.yaml").write_text(GOOD)
    with pytest.raises(CaseError, match="no case named nope"):
        load_cases(tmp_path, ["nope"])
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(CaseError, match="two cases are named 'ok'"):
        load_cases(tmp_path)
