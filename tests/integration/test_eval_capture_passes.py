"""Captured runs replay as they ran: an agent the router sends to twice in one run replays
each pass's own replies, and a card that expired replays expired (not rejected). Real runs
through the local Slack workspace, the bot and the scripted model, captured from the database
and replayed offline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from evals.capture import capture_case
from evals.cases import Case
from evals.observe import CaseSeen
from evals.runner import ModelAccess, run_case
from evals.scoring import score_run
from tests.integration.test_eval_capture import replay, tool_rows

SEARCH_1 = {"query": "ERROR", "limit": 5}
SEARCH_2 = {"query": "KeyError", "limit": 5}
TWICE: dict[str, Any] = {
    "name": "analyzer-twice",
    "fixture": {"scenario": "checkout-500"},
    "turns": [{"say": "checkout fails: find it, check the logs again, then look at the fix",
               "expect": {"outcome": None}}],
    "script": {"turns": [{
        "match": "check the logs again",
        "router": [{"agent": "log_analyzer", "reason": "Investigate first."},
                   {"agent": "log_analyzer", "reason": "Check the logs again."},
                   {"agent": "coding", "reason": "Look at the fix."}],
        "log_analyzer": [
            {"text": "Searching for errors.",
             "tool_calls": [{"name": "search_logs", "input": SEARCH_1}]},
            {"text": "First pass: a KeyError in pricing."}],
        "coding": [
            {"text": "Reading the pricing code.",
             "tool_calls": [{"name": "read_file", "input": {"path": "checkout/pricing.py"}}]},
            {"text": "The fix is a .get() lookup; nothing written."}],
        "log_analyzer@2": [
            {"text": "Looking once more.",
             "tool_calls": [{"name": "search_logs", "input": SEARCH_2}]},
            {"text": "Second pass: the KeyError began with the first order after boot."}],
    }]},
}  # fmt: skip

WRITE = {"path": "checkout/pricing.py", "content": "DISCOUNTS = {}\n"}
EXPIRES: dict[str, Any] = {
    "name": "card-expires",
    "fixture": {"scenario": "checkout-500"},
    "turns": [{"say": "please make unknown discount codes harmless",
               "decide": {"write_file": "expire"},
               "expect": {"outcome": None, "approvals": ["write_file"]}}],
    "script": {"turns": [{
        "match": "discount codes harmless",
        "router": [{"agent": "coding", "reason": "A code change is asked for."},
                   {"agent": "done", "reason": "Reported."}],
        "coding": [
            {"text": "Writing the fix.", "tool_calls": [{"name": "write_file", "input": WRITE}],
             "if_rejected": [{"text": "Nothing was written: the card was not approved."}]},
            {"text": "**Fixed.**"}],
    }]},
}  # fmt: skip


def run_source(source: dict[str, Any], work: Path) -> tuple[CaseSeen, str]:
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'source.sqlite'}"
    case = Case.model_validate({**source, "path": work / "source.yaml"})
    seen = asyncio.run(run_case(case, ModelAccess(mode="scripted"), work / "run", url))
    assert seen.error is None, seen.error
    return seen, url


def captured(source: dict[str, Any], tmp_path: Path) -> tuple[CaseSeen, str, Path]:
    seen, url = run_source(source, tmp_path / "source")
    path = tmp_path / "cases" / "captured.yaml"
    path.parent.mkdir()
    path.write_text(capture_case(url, seen.turns[-1].run_id), encoding="utf-8")
    return seen, url, path


def calls(url: str) -> list[tuple[str, str]]:
    return [(name, status) for name, status, _ in tool_rows(url)]


def test_an_agent_routed_to_twice_replays_each_pass_from_its_own_replies(tmp_path: Path) -> None:
    seen, url, path = captured(TWICE, tmp_path)
    [turn] = seen.turns
    assert "Second pass: the KeyError began" in turn.answer, "the live run's second pass"
    assert calls(url) == [("search_logs", "ok"), ("search_logs", "ok"), ("read_file", "ok")]

    data = yaml.safe_load(path.read_text())
    [script] = data["script"]["turns"]
    assert [r["agent"] for r in script["router"]] == [
        "log_analyzer", "log_analyzer", "coding", "done"]  # fmt: skip
    assert [s.get("tool_calls") for s in script["log_analyzer"]] == [
        [{"name": "search_logs", "input": SEARCH_1}], None]  # fmt: skip
    assert [s.get("tool_calls") for s in script["log_analyzer@2"]] == [
        [{"name": "search_logs", "input": SEARCH_2}], None]  # fmt: skip
    assert data["turns"][0]["expect"]["route"] == ["log_analyzer", "log_analyzer", "coding"]

    case, replayed, replay_url = replay(path, tmp_path)

    assert replayed.error is None, replayed.error
    score = score_run(case, replayed)
    assert score.passed, [c for c in score.checks if not c.passed]
    assert calls(replay_url) == calls(url), "the second pass searched for KeyError again"
    assert [t.answer for t in replayed.turns] == [turn.answer]
    recorded = [(n, r) for n, _, r in tool_rows(url)]
    replayed_rows = [(n, {k: v for k, v in r.items() if k != "files"})
                     for n, _, r in tool_rows(replay_url)]  # fmt: skip
    assert replayed_rows == [(n, {k: v for k, v in r.items() if k != "files"})
                             for n, r in recorded]  # fmt: skip


def test_a_card_that_expired_replays_expired_and_its_outcome_is_checked(tmp_path: Path) -> None:
    seen, url, path = captured(EXPIRES, tmp_path)
    [turn] = seen.turns
    assert calls(url) == [("write_file", "expired")], "the eval let the live card expire"
    assert "Nothing was written" in turn.answer
    live_file = tmp_path / "source" / "run" / "workspace" / "checkout" / "pricing.py"
    assert "DISCOUNTS = {}" not in live_file.read_text(), "an expired card writes nothing"

    data = yaml.safe_load(path.read_text())
    [said] = data["turns"]
    assert said["decide"] == {"write_file": "expire"}
    assert said["expect"]["outcome"] == turn.outcome
    assert turn.outcome is not None
    assert [a["status"] for a in data["replay"]["approvals"]] == ["expired"]

    case, replayed, replay_url = replay(path, tmp_path)

    assert replayed.error is None, replayed.error
    assert score_run(case, replayed).passed
    assert calls(replay_url) == [("write_file", "expired")], "expired again, not rejected"
    assert [t.outcome for t in replayed.turns] == [turn.outcome]


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_card_answered_by_a_click_is_not_expired(tmp_path: Path, decision: str) -> None:
    """The eval's expire is its own decision: a click still approves or rejects."""
    source = {**EXPIRES, "turns": [{**EXPIRES["turns"][0], "decide": {"write_file": decision}}]}

    _, url = run_source(source, tmp_path)

    expected = "ok" if decision == "approve" else "rejected"
    assert calls(url) == [("write_file", expected)]
