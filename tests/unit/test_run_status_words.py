"""`/opsbot status <run id>` in words: the step labels the page's run panel uses, the run's
status in words, and a wait for approval that never squashes the other bars."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agents.queries import RunSummary, step_lines
from agents.run_steps import STEP_LABELS, WAIT_SHARE, run_status_words, waterfall
from bot.blocks import run_blocks

RAW_NAMES = ("llm_call", "tool_call", "request_approval", "tool_exec", "recv ", "begin_turn")
T0 = 1_795_000_000_000  # epoch ms


def _step(function: str, start_ms: int, took_ms: int) -> dict[str, Any]:
    """A DBOS step record as DBOSClient.list_workflow_steps gives it."""
    return {"function_name": function, "started_at_epoch_ms": T0 + start_ms,
            "completed_at_epoch_ms": T0 + start_ms + took_ms, "error": None}  # fmt: skip


def _steps(wait_ms: int, waits: int = 1) -> list[dict[str, Any]]:
    """A run that routes, calls the model, asks for approval `waits` times (each wait
    `wait_ms` long), runs the tool and answers."""
    records = [_step("begin_turn", 0, 5), _step("route", 10, 120), _step("llm_call", 200, 900)]
    at = 1_100
    for _ in range(waits):
        records += [_step("tool_call", at, 30), _step("request_approval", at + 40, 40),
                    _step("DBOS.recv", at + 90, wait_ms), _step("DBOS.sleep", at + 95, wait_ms),
                    _step("resolve_approval", at + 100 + wait_ms, 10),
                    _step("tool_exec", at + 120 + wait_ms, 1_500)]  # fmt: skip
        at += 1_700 + wait_ms
    return [*records, _step("llm_call", at, 700), _step("finish_turn", at + 710, 20)]


def _run(status: str) -> RunSummary:
    return RunSummary(run_id="run-1", thread_id="T1:C1:1.0", status=status, agents=["coding"],
                      started_at=T0 / 1000, finished_at=None, input_tokens=0, output_tokens=0,
                      cost_usd=0.0, limit_reason=None, about="the api is slow")  # fmt: skip


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in blocks)


def _bar(text: str, label: str) -> str:
    """The bar of the first waterfall line that says `label`."""
    return next(line.split("|", 1)[1] for line in text.splitlines() if label in line)


@pytest.mark.parametrize("wait_ms", [14_917, 3 * 3600 * 1000, 200])
def test_status_detail_says_each_step_in_the_words_of_the_page(wait_ms: int) -> None:
    lines = step_lines(_steps(wait_ms))
    text = _text(run_blocks(_run("succeeded"), lines))
    for raw in RAW_NAMES:
        assert raw not in text
    for line in lines:  # the same labels the page's run panel shows (bot/status_http.py)
        assert line.label in text
    assert "sleep" not in text
    assert re.search(r"waiting for approval\s+waited ", text)


@pytest.mark.parametrize(("wait_ms", "waits"), [(14_917, 1), (3 * 3600 * 1000, 1), (60_000, 2)])
def test_a_wait_is_hatched_at_a_fixed_width_and_never_squashes_the_work(
    wait_ms: int, waits: int
) -> None:
    text = waterfall(step_lines(_steps(wait_ms, waits)))
    wait_bars = [bar for line in text.splitlines() if "waiting for approval" in line
                 for bar in [line.split("|", 1)[1]]]  # fmt: skip
    assert len(wait_bars) == waits
    for bar in wait_bars:
        assert bar.strip() == "~" * round(WAIT_SHARE * 40)
    work = [line.split("|", 1)[1] for line in text.splitlines() if "approved tool runs" in line]
    assert all(bar.count("#") >= 5 for bar in work), text  # 1.5 s of work stays visible
    assert text.count("waited ") == waits


def test_a_run_still_waiting_shows_the_wait_going_on() -> None:
    steps = step_lines([_step("begin_turn", 0, 5), _step("route", 10, 120),
                        _step("llm_call", 200, 900), _step("tool_call", 1_100, 30),
                        _step("request_approval", 1_140, 40)])  # fmt: skip
    text = _text(run_blocks(_run("waiting_approval"), steps))
    assert "waiting_approval" not in text
    assert "waiting for approval" in text.splitlines()[0]
    assert re.search(r"waiting for approval\s+waiting…\s+\|\s*~+(```)?$", text, re.MULTILINE), text
    assert _bar(text, STEP_LABELS["llm_call"]).count("#") >= 10, text


@pytest.mark.parametrize(
    ("status", "words"),
    [("waiting_approval", "waiting for approval"), ("running", "running"),
     ("needs_input", "waiting for your answer"), ("not_fixed", "not fixed"),
     ("no_answer", "no answer")],
)  # fmt: skip
def test_run_status_in_words(status: str, words: str) -> None:
    assert run_status_words(status) == words
    assert "_" not in run_status_words(status)


def test_the_page_says_each_status_in_the_same_words() -> None:
    """The page's run panel (sandbox/slack/web/app.js) and `/opsbot status` agree."""
    script = (Path(__file__).resolve().parents[2] / "sandbox/slack/web/app.js").read_text()
    found = re.search(r"const STATUS_WORDS = \{(?P<body>[^}]*)\}", script)
    assert found is not None
    page = dict(re.findall(r'(\w+): "([^"]*)"', found["body"]))
    assert "waiting_approval" in page
    for status, words in page.items():
        assert words == run_status_words(status), status
    assert "esc(statusWords(r.status))" in script
