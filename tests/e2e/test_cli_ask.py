"""`opsbot ask --demo` as a user runs it: a real process, live output, approvals at a prompt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def ask(tmp_path: Path, *args: str, answers: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "ANTHROPIC_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--demo", "--demo-dir", str(tmp_path), *args],
        cwd=ROOT, env=env, input=answers, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_demo_with_yes_fixes_the_bundled_incident(tmp_path: Path) -> None:
    result = ask(tmp_path, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "commands: kernel sandbox active: Landlock ABI" in out
    assert "-> log_analyzer" in out
    assert "-> coding" in out
    assert "APPROVAL NEEDED [write] write_file" in out
    assert "APPROVAL NEEDED [critical] shell_execute" in out
    assert "$ python3 -m unittest discover -s tests -v" in out
    assert "--- succeeded in" in out
    fixed = (tmp_path / "workspace/checkout/pricing.py").read_text()
    assert "DISCOUNTS.get(code.upper(), 0)" in fixed


def test_answering_no_at_the_prompt_rejects_and_nothing_is_written(tmp_path: Path) -> None:
    result = ask(tmp_path, answers="n\nnot before the freeze ends\nn\n\n")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.count("Approve? [y/N]") == 1, "a rejected fix is not followed by more cards"
    assert "**Not fixed.** The change to `checkout/pricing.py` was rejected" in out
    assert "Recorded: rejected by terminal." in out
    assert "write_file rejected (0 ms): Rejected by terminal: not before the freeze ends" in out
    pricing = (tmp_path / "workspace/checkout/pricing.py").read_text()
    assert "DISCOUNTS[code.upper()]" in pricing


def test_without_the_sandbox_the_demo_says_every_command_needs_approval(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "ANTHROPIC_"))}
    env["OPSBOT_SANDBOX"] = "off"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--demo", "--demo-dir", str(tmp_path), "--yes"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "commands: no kernel sandbox (OPSBOT_SANDBOX=off): every command needs approval" in (
        result.stdout
    )


@pytest.mark.parametrize("question", ["the api is slow since 10:00", "why is the disk full?"])
def test_a_question_the_demo_script_does_not_know_gets_one_sentence_about_the_terminal(
    tmp_path: Path, question: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "ANTHROPIC_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--demo", "--demo-dir", str(tmp_path), question],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert out.count("Only the bundled incident checkout-500 is scripted here") == 1, out
    assert "--scenario NAME" in out
    assert "on the page" not in out
    assert "succeeded" not in out
    assert "--- declined in" in out
