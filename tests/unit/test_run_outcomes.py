"""Runs that did not answer are never shown as succeeded: footer and status line."""

from __future__ import annotations

import pytest

from agents.events import RunFinished
from bot.blocks import OUTCOME_ICON, footer_text


@pytest.mark.parametrize(
    ("outcome", "icon"),
    [("declined", ":no_entry:"), ("no_answer", ":x:"), ("failed", ":x:"),
     ("limited", ":warning:")],
)  # fmt: skip
def test_a_run_that_did_not_answer_has_its_own_outcome_and_icon(outcome: str, icon: str) -> None:
    event = RunFinished(run_id="r", outcome=outcome, answer="", limit=None, input_tokens=10,
                        output_tokens=2, cost_usd=0.0, duration_s=1.0)  # fmt: skip

    footer = footer_text(event)

    assert footer.startswith(f"{icon} {outcome}")
    assert "succeeded" not in footer
    assert OUTCOME_ICON[outcome] == icon
