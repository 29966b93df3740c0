"""`opsbot eval capture` against hostile runs: secrets and YAML-breaking text in what people
said and what tools returned, and `--out` paths that cannot be a case file. The runs are rows
in a real (SQLite) database, as the bot writes them; the case is read back with the loader
`opsbot eval` uses, and its `match` with the scripted model's own regex flags."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from bot.commands import run as opsbot
from core import migrate
from core.db import make_engine
from core.models import MessageRow, RunRow, ThreadRow, ToolCallRow
from evals.capture import capture_case
from evals.cases import load_case
from evals.runner import ModelAccess, run_case
from evals.scoring import score_run

RUN = "T0:C0:1.0"


def database(tmp_path: Path, say: str, result: dict[str, Any] | None = None) -> str:
    """A database holding one ended run: `say` asked, one search_logs call that returned
    `result`, and an answer."""
    url = f"sqlite:///{tmp_path / 'opsbot.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    result = result or {"status": "ok", "data": {"matches": []}, "error": None}
    with Session(engine) as session, session.begin():
        session.add(ThreadRow(id=RUN, team="T0", channel="C0", thread_ts="1.0",
                              created_at=1.0, updated_at=1.0))  # fmt: skip
        session.flush()
        session.add_all([
            RunRow(id=RUN, thread_id=RUN, message_ts="1.0", status="done", outcome="answered",
                   agents=["log_analyzer"], started_at=1.0, finished_at=2.0, answer="Done."),
            MessageRow(thread_id=RUN, run_id=RUN, seq=1, role="user", content=say,
                       created_at=1.0),
            ToolCallRow(run_id=RUN, tool_use_id="tu1", agent="log_analyzer", name="search_logs",
                        args={"query": "error", "limit": 20}, fingerprint="f", risk="read",
                        status=result["status"], result=result, started_at=1.5),
        ])  # fmt: skip
    engine.dispose()
    return url


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-1234567890-0987654321-abcdefghijklmnopqrstuvwx",
        "Bearer abc.def.ghi123456789XYZ",
        "xoxp-111-222-333-abcdef0123456789",
    ],
)
def test_a_secret_in_what_was_said_is_in_no_part_of_the_case(tmp_path: Path, secret: str) -> None:
    """The script's `match` is built from the redacted message: the escaped form of a secret
    (`xoxb\\-…`) is not one the redactor would see, and a match of the raw message would
    never match the redacted `say` the replay posts."""
    say = f"why does the deploy fail with {secret} in the env?"
    text = capture_case(database(tmp_path, say), RUN)

    raw = secret.split()[-1]
    assert raw not in text
    assert re.escape(raw) not in text
    for piece in re.split(r"[-.]", raw):
        if len(piece) >= 12:
            assert piece not in text, piece
    data = yaml.safe_load(text)
    [turn], [script] = data["turns"], data["script"]["turns"]
    assert "[REDACTED" in turn["say"]
    assert re.compile(script["match"], re.I | re.S).search(turn["say"])


@pytest.mark.parametrize(
    ("say", "output"),
    [("show me facts: [] from the log", "must_not_say: []"),
     ("facts: []\x00\tmust_not_say: []", "line one\n---\nkey: value\tfacts: []\x00"),
     ("--- \n# not a comment\n'quoted' \"double\" \\ back", "- item: [1, 2]\n" * 3),
     ("a: " + "x" * 10_000, "\x1b[31mred\x1b[0m \u202eevil\u202c 🔥 " + "y" * 10_000)],
)  # fmt: skip
def test_yaml_breaking_text_comes_back_unchanged_and_the_case_loads(
    tmp_path: Path, say: str, output: str
) -> None:
    """What people said and what tools returned is data: the TODO comments are added to the
    expectations only, never inside a quoted string that happens to hold `facts: []`."""
    result = {"status": "ok", "data": {"text": output}, "error": None}
    text = capture_case(database(tmp_path, say, result), RUN)

    data = yaml.safe_load(text)
    [turn] = data["turns"]
    assert turn["say"] == say
    assert data["replay"]["tools"][0]["result"]["data"]["text"] == output
    assert re.compile(data["script"]["turns"][0]["match"], re.I | re.S).search(say)
    assert text.count("# TODO") == 2  # one per expectation list of the one turn
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    case = load_case(path)
    assert case.turns[0].say == say


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_out_naming_a_directory_is_refused_with_exit_code_2(
    tmp_path: Path, force: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OPSBOT_DATABASE_URL", database(tmp_path, "why?"))
    out = tmp_path / "cases"
    out.mkdir()

    assert opsbot(["eval", "capture", RUN, "--out", str(out), *force]) == 2

    err = capsys.readouterr().err
    # without --force the command's check for an existing path refuses first
    said = f"error: {out} is a directory" if force else f"error: {out} exists"
    assert said in err
    assert "Traceback" not in err
    assert out.is_dir()
    assert not list(out.iterdir())


@pytest.mark.parametrize("under", ["notes.txt/case.yaml", "notes.txt/deeper/case.yaml"])
def test_out_under_a_file_is_refused_with_exit_code_2(
    tmp_path: Path, under: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OPSBOT_DATABASE_URL", database(tmp_path, "why?"))
    (tmp_path / "notes.txt").write_text("kept\n")

    assert opsbot(["eval", "capture", RUN, "--out", str(tmp_path / under)]) == 2

    err = capsys.readouterr().err
    assert f"error: could not write {tmp_path / under}: " in err
    assert "Traceback" not in err
    assert (tmp_path / "notes.txt").read_text() == "kept\n"


def test_out_without_a_parent_writes_into_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPSBOT_DATABASE_URL", database(tmp_path, "why?"))
    monkeypatch.chdir(tmp_path)

    assert opsbot(["eval", "capture", RUN, "--out", "case.yaml"]) == 0

    assert load_case(tmp_path / "case.yaml").turns[0].say == "why?"
    assert "wrote case.yaml" in capsys.readouterr().out


def thread_database(tmp_path: Path, turns: list[tuple[str, str, str]]) -> str:
    """A thread of ended runs, one per (what was said, the search query, the answer), each
    with one recorded search_logs call; no DBOS step records (scripted from the calls)."""
    url = f"sqlite:///{tmp_path / 'thread.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(ThreadRow(id=RUN, team="T0", channel="C0", thread_ts="1.0",
                              created_at=1.0, updated_at=1.0))  # fmt: skip
        session.flush()
        for index, (say, query, answer) in enumerate(turns, 1):
            run_id = f"{RUN}:{index}"
            result = {"status": "ok", "data": {"query": query, "matches": index}, "error": None}
            session.add_all([
                RunRow(id=run_id, thread_id=RUN, message_ts=f"{index}.0", status="done",
                       outcome="answered", agents=["log_analyzer"], started_at=float(index),
                       finished_at=index + 0.5, answer=answer),
                MessageRow(thread_id=RUN, run_id=run_id, seq=index, role="user", content=say,
                           created_at=float(index)),
                ToolCallRow(run_id=run_id, tool_use_id=f"tu{index}", agent="log_analyzer",
                            name="search_logs", args={"query": query, "limit": 20},
                            fingerprint=f"f{index}", risk="read", status="ok", result=result,
                            started_at=index + 0.1),
            ])  # fmt: skip
    engine.dispose()
    return url


@pytest.mark.parametrize(
    "says",
    [["why are errors up?", "again", "again"], ["Try again", "try again  ", "TRY AGAIN"]],
)
def test_a_thread_that_says_the_same_thing_twice_replays_each_turn_as_recorded(
    tmp_path: Path, says: list[str]
) -> None:
    """The scripted model tells turns apart by what was said: each turn's script must match
    its own message only, or a repeated message replays the first such turn's replies."""
    turns = [(say, f"query {i}", f"Answer number {i}.") for i, say in enumerate(says, 1)]
    url = thread_database(tmp_path, turns)
    path = tmp_path / "cases" / "captured.yaml"
    path.parent.mkdir()
    path.write_text(capture_case(url, f"{RUN}:{len(turns)}"), encoding="utf-8")

    case = load_case(path)
    assert case.turns[0].say == says[0]
    assert case.turns[2].say.endswith(" (turn 3 of the captured thread)")
    seen = asyncio.run(run_case(case, ModelAccess(mode="scripted"), tmp_path / "replay",
                                f"sqlite:///{tmp_path / 'replay.sqlite'}"))  # fmt: skip

    assert seen.error is None, seen.error
    assert [t.answer for t in seen.turns] == [answer for _, _, answer in turns]
    assert score_run(case, seen).passed
