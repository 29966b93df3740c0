"""A tool's outcome is one line in the thread and in the terminal, whatever the error says.

The model gets a tool's whole error; the outcome line (bot/renderer.tool_outcome, the
terminal's line) folds it: a git error over several lines, a person's reason typed over
several lines, an exception message with CRLF.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from agents.events import ToolFinished
from bot.renderer import tool_outcome
from bot.terminal import TerminalPublisher
from tools.base import ToolContext
from tools.confine import Confinement
from tools.registry import default_tools


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository."""
    workspace = tmp_path / "repo"
    workspace.mkdir()
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    return workspace


async def _git_error(workspace: Path, tmp_path: Path) -> str:
    """The error of a real git_diff against a revision that does not exist."""
    ctx = ToolContext(workspace=workspace, confinement=Confinement(workspace),
                      scratch_root=tmp_path / "scratch")  # fmt: skip
    tool = default_tools().get("git_diff")
    assert tool is not None
    result = await tool.run({"ref": "no-such-revision"}, ctx)
    assert result.error is not None
    return result.error


OTHER_DETAILS = {
    "a person's reason over several lines": (
        "rejected", "Rejected by <@U0ONCALL>: not now\n\nwe are in the freeze\r\nuntil 18:00"),
    "an exception message with CRLF and tabs": (
        "error", "read_log failed: OSError: first\r\n\tsecond"),
    "only whitespace": ("error", " \n\t"),
}  # fmt: skip


async def _details(repo: Path, tmp_path: Path) -> list[tuple[str, str]]:
    return [("error", await _git_error(repo, tmp_path)), *OTHER_DETAILS.values()]


@pytest.mark.parametrize("index", range(len(OTHER_DETAILS) + 1))
async def test_a_tool_outcome_is_one_line_in_the_thread_and_the_terminal(
    repo: Path, tmp_path: Path, index: int
) -> None:
    status, detail = (await _details(repo, tmp_path))[index]
    if index == 0:
        assert "\n" in detail.strip(), "git's own error spans lines (the input under test)"
    line = tool_outcome(status, detail)
    out = io.StringIO()
    terminal = TerminalPublisher("run-1", out)
    await terminal.publish(ToolFinished(run_id="run-1", agent="log_analyzer", tool_use_id="t",
                                        name="git_diff", status=status, duration_ms=1.0,
                                        detail=detail))  # fmt: skip

    assert line.splitlines() == [line], line
    assert out.getvalue().count("\n") == 1, out.getvalue()
    words = detail.split()
    if words:
        assert words[-1] in line
        assert words[-1] in out.getvalue()
    else:
        assert line == status
