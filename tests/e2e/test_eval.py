"""`opsbot eval` as a user runs it: every bundled case through the local Slack workspace, the
real bot and the scripted model; a failing case, a regression, and live mode with the judge."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evals.cli import BUNDLED_CASES
from sandbox.model.server import start_model_server
from tests.support import scripted, system_text

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def opsbot_eval(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `opsbot eval` in its own process: (exit code, stdout, stderr)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("OPSBOT_", "SLACK_", "ANTHROPIC_"))}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "eval", *args, cwd=ROOT, env={**clean, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 600)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


async def test_every_bundled_case_passes_offline_and_the_report_is_written(tmp_path: Path) -> None:
    code, stdout, stderr = await opsbot_eval("--out", str(tmp_path))
    assert code == 0, stdout + stderr
    data = report(tmp_path)
    summary = data["summary"]
    assert summary["cases"] >= 12
    assert summary["cases_passed"] == summary["cases"]
    for score in ("pass_rate", "routing_accuracy", "fact_recall", "approval_correctness"):
        assert summary[score] == 1.0, score
    assert (summary["loops"], summary["tokens"] > 0, summary["cost_usd"] > 0) == (0, True, True)
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")
    assert f"{summary['cases']}/{summary['cases']} cases passed" in stdout
    assert f"] {summary['cases']}/{summary['cases']} " in stderr  # the progress line
    rejected = next(c for c in data["cases"] if c["name"] == "checkout-fix-rejected")
    assert any(c["name"] == "checkout/pricing.py unchanged" and c["passed"]
               for c in rejected["runs"][0]["checks"])  # fmt: skip


def one_case(folder: Path, name: str, **expect: Any) -> Path:
    """A copy of a bundled case under `folder`, its first turn's expectations changed."""
    folder.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load((BUNDLED_CASES / f"{name}.yaml").read_text())
    data["turns"][0]["expect"].update(expect)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return folder


async def test_a_failing_case_fails_the_run_and_a_drop_below_the_baseline_is_a_regression(
    tmp_path: Path,
) -> None:
    good = one_case(tmp_path / "good", "checkout-log-question")
    code, _, stderr = await opsbot_eval(
        "--cases", str(good), "--out", str(tmp_path / "before"), "--repeat", "2"
    )
    assert code == 0
    assert "checkout-log-question #2: passed" in stderr
    (repeated,) = report(tmp_path / "before")["cases"]
    assert (len(repeated["runs"]), repeated["pass_rate"]) == (2, 1.0)
    wrong = one_case(tmp_path / "wrong", "checkout-log-question", route=["coding"])
    code, stdout, _ = await opsbot_eval(
        "--cases", str(wrong), "--out", str(tmp_path / "after"),
        "--baseline", str(tmp_path / "before" / "report.json"),
    )  # fmt: skip
    assert code == 1
    assert "✗ turn 1: routed to coding: routed to log_analyzer" in stdout
    assert "REGRESSION routing_accuracy fell from 1.0 to 0.0" in stdout
    assert "REGRESSION case checkout-log-question: pass rate fell from 1.0 to 0.0" in stdout
    code, stdout, _ = await opsbot_eval(
        "--cases", str(good), "--out", str(tmp_path / "again"),
        "--baseline", str(tmp_path / "before" / "report.json"),
    )  # fmt: skip
    assert (code, "no score fell below the baseline" in stdout) == (0, True)


async def test_bad_input_is_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "typo.yaml").write_text("name: x\nturns: [{say: hi, expct: {}}]\n")
    code, _, stderr = await opsbot_eval("--cases", str(tmp_path / "cases"))
    assert code == 2
    assert stderr.strip().startswith("error: ")
    assert "turns.0.expct" in stderr
    code, _, stderr = await opsbot_eval("--model", "live", "--out", str(tmp_path / "o"))
    assert (code, "needs ANTHROPIC_API_KEY" in stderr) == (2, True)
    code, _, stderr = await opsbot_eval("--judge", "--out", str(tmp_path / "o"))
    assert (code, "add --model live" in stderr) == (2, True)
    (tmp_path / "not-a-report.json").write_text("[1, 2]")
    code, _, stderr = await opsbot_eval("--baseline", str(tmp_path / "not-a-report.json"))
    assert (code, "is not an opsbot eval report" in stderr) == (2, True)


JUDGED = [
    {"match": "Expected facts",  # the judge's request (it quotes the question too: match first)
     "judge": [{"tool_calls": [{"name": "verdict", "input": {"facts": [
         {"name": "the count", "present": True, "why": "says sixteen orders failed"},
         {"name": "the error", "present": True, "why": "names the KeyError"}]}}]}]},
    {"match": "how many",
     "router": [{"agent": "log_analyzer", "reason": "count in the logs"},
                {"agent": "done", "reason": "answered"}],
     "log_analyzer": [{"text": "Sixteen orders failed, each with KeyError: 'SPRING24'."}]},
]  # fmt: skip


async def test_live_mode_talks_to_the_configured_endpoint_and_the_judge_grades_wording(
    tmp_path: Path,
) -> None:
    """Live mode against an Anthropic-compatible endpoint (the scripted server stands in for
    the API here): the answer says "Sixteen", which the count's pattern (\\b16\\b) misses and
    the judge confirms."""
    cases = one_case(tmp_path / "cases", "checkout-log-question", tools_called=[])
    endpoint = await start_model_server(scripted(JUDGED))
    try:
        code, stdout, stderr = await opsbot_eval(
            "--cases", str(cases), "--model", "live", "--judge", "--judge-model", "judge-model",
            "--out", str(tmp_path / "out"),
            env={"ANTHROPIC_API_KEY": "sk-live-test", "ANTHROPIC_BASE_URL": endpoint.url},
        )  # fmt: skip
    finally:
        await endpoint.stop()
    assert code == 0, stdout + stderr
    checks = report(tmp_path / "out")["cases"][0]["runs"][0]["checks"]
    count = next(c for c in checks if c["name"] == "turn 1: states the count")
    assert count["passed"]
    assert count["detail"] == "judge: says sixteen orders failed"
    judged = [r for r in endpoint.state.requests if "judge" in system_text(r)]
    assert [r["model"] for r in judged] == ["judge-model"]
    assert shutil.which("git")  # the fixture is a git repository, as the git tools expect
