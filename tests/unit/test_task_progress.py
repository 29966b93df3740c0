"""A running tool call's progress chunk: the card it started, still in progress, saying for how
long (`details`), whole seconds under a minute and minutes with two-digit seconds above."""

from __future__ import annotations

import pytest

from bot.task_chunks import MAX_TITLE, task_running


@pytest.mark.parametrize(
    ("elapsed_s", "details"),
    [(0.4, "running for 0s"), (20.9, "running for 20s"), (60.0, "running for 1m 00s"),
     (65.2, "running for 1m 05s"), (3_725.0, "running for 62m 05s")],
)  # fmt: skip
def test_progress_says_how_long_the_call_runs(elapsed_s: float, details: str) -> None:
    chunk = task_running("toolu_1", "shell_execute make test", elapsed_s)
    assert chunk == {"type": "task_update", "id": "toolu_1", "title": "shell_execute make test",
                     "status": "in_progress", "details": details}  # fmt: skip


def test_a_long_title_is_clipped_as_at_the_start() -> None:
    chunk = task_running("toolu_2", "x" * 500, 1.0)
    assert len(chunk["title"]) == MAX_TITLE
    assert chunk["title"].endswith("…")
