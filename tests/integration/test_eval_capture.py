"""`opsbot eval capture`: a real run (the local Slack workspace, the bot, the scripted model
and a real database) becomes a case; `opsbot eval` replays it offline from the recording."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.commands import run as opsbot
from core import migrate
from core.db import make_engine, sqlalchemy_url
from core.models import ApprovalRow, MessageRow, RunRow, ThreadRow, ToolCallRow
from evals.capture import capture_case
from evals.cases import Case, load_case
from evals.observe import CaseSeen
from evals.runner import ModelAccess, run_case
from evals.scoring import score_run

SECRET = "AKIAIOSFODNN7EXAMPLE"
SOURCE: dict[str, Any] = {
    "name": "leak-then-fix",
    "fixture": {
        "scenario": "checkout-500",
        "files": {"logs/boot.log": "2026-11-24T14:02:58.000Z INFO  checkout boot env "
                                   f"AWS_ACCESS_KEY_ID={SECRET} region=eu-west-1\n"},
    },
    "turns": [
        {"say": "are credentials leaking in the checkout logs?",
         "expect": {"outcome": None, "tools_called": ["search_logs"]}},
        {"say": "please make unknown discount codes harmless",
         "decide": {"write_file": "approve"},
         "expect": {"outcome": None, "approvals": ["write_file"]}},
    ],
    "script": {"turns": [
        {"match": "credentials",
         "router": [{"agent": "log_analyzer", "reason": "A question about the logs."},
                    {"agent": "done", "reason": "Answered."}],
         "log_analyzer": [
             {"text": "Searching the logs for keys.",
              "tool_calls": [{"name": "search_logs",
                              "input": {"query": "KEY|SECRET", "limit": 20}}]},
             {"text": f"Yes: logs/boot.log prints an AWS access key ({SECRET}) at boot."}]},
        {"match": "discount codes harmless",
         "router": [{"agent": "coding", "reason": "A code change is asked for."}],
         "coding": [
             {"text": "Reading the pricing code.",
              "tool_calls": [{"name": "read_file", "input": {"path": "checkout/pricing.py"}}]},
             {"text": "Looking codes up with .get().",
              "tool_calls": [{"name": "write_file", "input": {
                  "path": "checkout/pricing.py", "content": "DISCOUNTS = {}\n"}}]},
             {"text": "**Fixed.** Unknown codes no longer fail the order."}]},
    ]},
}  # fmt: skip


def real_run(work: Path, database_url: str | None = None) -> tuple[CaseSeen, str]:
    """The source case run end to end; what was seen and the database it wrote."""
    work.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{work / 'source.sqlite'}"
    case = Case.model_validate({**SOURCE, "path": work / "source.yaml"})
    seen = asyncio.run(run_case(case, ModelAccess(mode="scripted"), work / "run", url))
    assert seen.error is None, seen.error
    assert len(seen.turns) == 2
    return seen, url


def replay(path: Path, work: Path) -> tuple[Case, CaseSeen, str]:
    """`path` replayed offline in a fresh database; the case, what was seen, the database."""
    case = load_case(path)
    url = f"sqlite:///{work / 'replay.sqlite'}"
    seen = asyncio.run(run_case(case, ModelAccess(mode="scripted"), work / "replay", url))
    return case, seen, url


def tool_rows(database_url: str) -> list[tuple[str, str, Any]]:
    engine = create_engine(sqlalchemy_url(database_url))
    with Session(engine) as session:
        rows = session.execute(select(ToolCallRow.name, ToolCallRow.status, ToolCallRow.result)
                               .order_by(ToolCallRow.started_at)).all()  # fmt: skip
    engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows]


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A two-turn thread run on SQLite and its captured case: (case file, run id, database)."""
    work = tmp_path_factory.mktemp("captured")
    seen, url = real_run(work)
    run_id = seen.turns[-1].run_id
    path = work / "cases" / "captured.yaml"
    path.parent.mkdir()
    path.write_text(capture_case(url, run_id), encoding="utf-8")
    return path, run_id, url


def test_a_captured_thread_holds_its_messages_calls_decisions_and_answers_and_replays_offline(
    database_url: str, tmp_path: Path
) -> None:
    seen, url = real_run(tmp_path / "source", database_url)
    run_id = seen.turns[-1].run_id
    path = tmp_path / "captured.yaml"
    path.write_text(capture_case(url, run_id), encoding="utf-8")

    text = path.read_text()
    assert SECRET not in text  # neither the tool output nor the model's echo of it
    data = yaml.safe_load(text)
    assert [t["say"] for t in data["turns"]] == [t["say"] for t in SOURCE["turns"]]
    assert data["turns"][1]["decide"] == {"write_file": "approve"}
    assert [(t["route"], t["approvals"]) for t in (t["expect"] for t in data["turns"])] == [
        (["log_analyzer"], []), (["coding"], ["write_file"])]  # fmt: skip
    assert "facts: []  # TODO" in text
    assert "must_not_say: []  # TODO" in text
    calls = data["replay"]["tools"]
    assert [(c["turn"], c["name"], c["status"], c["asked_approval"]) for c in calls] == [
        (1, "search_logs", "ok", None), (2, "read_file", "ok", None),
        (2, "write_file", "ok", "write")]  # fmt: skip
    [match] = calls[0]["result"]["data"]["matches"]
    assert "AWS_ACCESS_KEY_ID=[REDACTED" in match["text"]
    assert "DISCOUNTS[code.upper()]" in calls[1]["result"]["data"]["text"]
    assert [a["status"] for a in data["replay"]["approvals"]] == ["approved"]
    assert [t["answer"] for t in data["replay"]["turns"]] == [t.answer for t in seen.turns]

    case, replayed, replay_url = replay(path, tmp_path)

    score = score_run(case, replayed)
    assert score.passed, [c for c in score.checks if not c.passed]
    assert [t.answer for t in replayed.turns] == [t.answer for t in seen.turns]
    # the outputs came from the recording: the replay's workspace has no boot.log at all
    replayed_calls = [(n, s, {k: v for k, v in r.items() if k != "files"})
                      for n, s, r in tool_rows(replay_url)]  # fmt: skip
    assert replayed_calls == [(c["name"], c["status"], c["result"]) for c in calls]
    assert not (tmp_path / "replay" / "workspace" / "logs" / "boot.log").exists()


@pytest.mark.parametrize(
    ("tool", "recorded", "changed"),
    [("search_logs", {"query": "KEY|SECRET", "limit": 20}, {"query": "password", "limit": 20}),
     ("read_file", {"path": "checkout/pricing.py"}, {"path": "checkout/app.py"})],
)  # fmt: skip
def test_a_call_the_recording_does_not_hold_gets_a_tool_error_saying_so(
    captured: tuple[Path, str, str], tmp_path: Path, tool: str, recorded: dict[str, Any],
    changed: dict[str, Any],
) -> None:  # fmt: skip
    path = tmp_path / "cases" / "edited.yaml"
    path.parent.mkdir()
    data = yaml.safe_load(captured[0].read_text())
    for turn in data["script"]["turns"]:
        for steps in turn.values():
            for step in steps if isinstance(steps, list) else []:
                for call in step.get("tool_calls", []):
                    if call["name"] == tool and call["input"] == recorded:
                        call["input"] = changed
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    _, replayed, url = replay(path, tmp_path)

    assert replayed.error is None
    [(status, result)] = [(s, r) for name, s, r in tool_rows(url) if name == tool]
    assert status == "error"
    assert result["error"].startswith(f"{tool} was not recorded with this input")
    assert "nothing was run" in result["error"]


@pytest.mark.parametrize("run_id", ["T0SANDBOX:C0INCIDENTS:1.000001", "no-such-run"])
def test_a_run_the_database_does_not_hold_is_an_error_with_exit_code_2(
    captured: tuple[Path, str, str], tmp_path: Path, run_id: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OPSBOT_DATABASE_URL", captured[2])
    out = tmp_path / "case.yaml"

    assert opsbot(["eval", "capture", run_id, "--out", str(out)]) == 2

    assert f"error: no run {run_id!r} in this database" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("status", ["running", "waiting_approval"])
def test_a_run_that_has_not_ended_is_an_error_with_exit_code_2(
    tmp_path: Path, status: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    url = f"sqlite:///{tmp_path / 'opsbot.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(ThreadRow(id="T0:C0:1.0", team="T0", channel="C0", thread_ts="1.0",
                              created_at=1.0, updated_at=1.0))  # fmt: skip
        session.flush()
        session.add(RunRow(id="T0:C0:1.0", thread_id="T0:C0:1.0", message_ts="1.0",
                           status=status, agents=["log_analyzer"], started_at=1.0))  # fmt: skip
    engine.dispose()
    monkeypatch.setenv("OPSBOT_DATABASE_URL", url)
    out = tmp_path / "case.yaml"

    assert opsbot(["eval", "capture", "T0:C0:1.0", "--out", str(out)]) == 2

    assert f"run T0:C0:1.0 has not ended ({status})" in capsys.readouterr().err
    assert not out.exists()


def test_an_existing_file_is_kept_unless_force_is_given(
    captured: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, run_id, url = captured
    monkeypatch.setenv("OPSBOT_DATABASE_URL", url)
    out = tmp_path / "case.yaml"
    out.write_text("kept: true\n")

    assert opsbot(["eval", "capture", run_id, "--out", str(out)]) == 2
    assert f"{out} exists; add --force to overwrite it" in capsys.readouterr().err
    assert out.read_text() == "kept: true\n"

    assert opsbot(["eval", "capture", run_id, "--out", str(out), "--force"]) == 0
    assert "edit its expect: (marked TODO)" in capsys.readouterr().out
    replay_section = load_case(out).replay
    assert replay_section is not None
    assert replay_section.captured_from == run_id


def test_opsbot_eval_replays_the_captured_case_and_it_passes(
    captured: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"

    code = opsbot(["eval", "--cases", str(captured[0].parent), "--out", str(out)])

    report = capsys.readouterr()
    assert code == 0, report.out + report.err
    assert "1/1 cases passed" in report.out


def test_a_run_without_step_records_is_scripted_from_its_calls_and_its_card_expires_again(
    tmp_path: Path,
) -> None:
    """A database DBOS never ran on (or whose step records are gone): the script is the tool
    calls in order, then the answer; the card that expired is left to expire in the replay
    (evals/decisions.py), so the recorded outcome is expected again."""
    url = f"sqlite:///{tmp_path / 'opsbot.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    write = {"path": "a.py", "content": "x = 1\n"}
    with Session(engine) as session, session.begin():
        session.add(ThreadRow(id="T0:C0:1.0", team="T0", channel="C0", thread_ts="1.0",
                              created_at=1.0, updated_at=1.0))  # fmt: skip
        session.flush()
        session.add_all([
            RunRow(id="T0:C0:1.0", thread_id="T0:C0:1.0", message_ts="1.0", status="expired",
                   outcome="expired", agents=["coding"], started_at=1.0, finished_at=2.0,
                   answer="Nothing was written: the approval expired."),
            MessageRow(thread_id="T0:C0:1.0", run_id="T0:C0:1.0", seq=1, role="user",
                       content="fix a.py", created_at=1.0),
            ToolCallRow(run_id="T0:C0:1.0", tool_use_id="tu1", agent="coding", name="write_file",
                        args=write, fingerprint="f", risk="write", status="expired",
                        result={"status": "expired", "error": "the approval expired"},
                        started_at=1.5),
            ApprovalRow(id="a1", run_id="T0:C0:1.0", thread_id="T0:C0:1.0", tool_use_id="tu1",
                        tool_name="write_file", args=write, fingerprint="f", risk="write",
                        preview="", status="expired", created_at=1.5, expires_at=1.6),
        ])  # fmt: skip
    engine.dispose()

    data = yaml.safe_load(capture_case(url, "T0:C0:1.0"))

    [turn] = data["turns"]
    assert turn["decide"] == {"write_file": "expire"}
    assert turn["expect"]["outcome"] == "expired"
    [script] = data["script"]["turns"]
    assert script["coding"] == [
        {"tool_calls": [{"name": "write_file", "input": write}]},
        {"text": "Nothing was written: the approval expired."}]  # fmt: skip
    assert [r["agent"] for r in script["router"]] == ["coding", "done"]
