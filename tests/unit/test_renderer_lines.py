"""The lines the renderer writes for a tool call's outcome."""

from __future__ import annotations

import pytest

from bot.task_chunks import MAX_TOOL_DETAIL, tool_outcome


@pytest.mark.parametrize(
    ("status", "detail", "line"),
    [
        ("rejected", "Rejected by <@U0ONCALL>: not during the freeze",
         "Rejected by <@U0ONCALL>: not during the freeze"),
        ("rejected", "Rejected by terminal", "Rejected by terminal"),
        ("expired", "the approval request expired without a decision; nothing was run",
         "expired: the approval request expired without a decision; nothing was run"),
        ("error", "no such file: logs/app.log", "error: no such file: logs/app.log"),
        ("ok", "", "ok"),
    ],
)  # fmt: skip
def test_an_outcome_says_its_status_once(status: str, detail: str, line: str) -> None:
    assert tool_outcome(status, detail) == line


def test_a_long_detail_is_cut_at_a_word() -> None:
    line = tool_outcome("error", "word " * 200)
    assert len(line) <= len("error: ") + MAX_TOOL_DETAIL + 2
    assert line.endswith("word …")
