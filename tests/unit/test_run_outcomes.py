"""Runs that did not answer are never shown as succeeded: footer and status line."""

from __future__ import annotations

import pytest

from agents.events import RunFinished
from agents.outcomes import ANSWERED, answered_outcome
from agents.outcomes import words as outcome_words
from bot.blocks import OUTCOME_ICON, footer_text


@pytest.mark.parametrize(
    ("outcome", "icon"),
    [("declined", ":no_entry:"), ("no_answer", ":x:"), ("failed", ":x:"),
     ("limited", ":warning:"), ("not_fixed", ":warning:"), ("rejected", ":no_entry_sign:"),
     ("needs_input", ":speech_balloon:"), ("expired", ":hourglass:")],
)  # fmt: skip
def test_a_run_that_did_not_answer_has_its_own_outcome_and_icon(outcome: str, icon: str) -> None:
    event = RunFinished(run_id="r", outcome=outcome, answer="", limit=None, input_tokens=10,
                        output_tokens=2, cost_usd=0.0, duration_s=1.0)  # fmt: skip

    footer = footer_text(event)

    assert footer.startswith(f"{icon} {outcome_words(outcome)}")
    assert "succeeded" not in footer
    assert OUTCOME_ICON[outcome] == icon


@pytest.mark.parametrize(
    ("fix_status", "awaiting", "rejected", "outcome"),
    [(None, False, (), "succeeded"), ("fixed", False, (), "succeeded"),
     ("fixed", False, ("rejected",), "rejected"), ("not_fixed", False, ("rejected",), "not_fixed"),
     ("not_fixed", False, (), "not_fixed"), (None, False, ("rejected",), "rejected"),
     (None, False, ("expired", "rejected"), "rejected"), (None, False, ("expired",), "expired"),
     ("fixed", False, ("expired",), "expired"), ("needs_input", False, (), "needs_input"),
     (None, True, (), "needs_input"), ("not_fixed", True, ("rejected",), "needs_input")],
)  # fmt: skip
def test_an_answered_turn_says_what_its_answer_means(
    fix_status: str | None, awaiting: bool, rejected: tuple[str, ...], outcome: str
) -> None:
    """A rejected fix, a repair reported not fixed or a question for the person never ends
    'succeeded': the footer agrees with the answer."""
    assert answered_outcome(fix_status, awaiting, rejected) == outcome
    assert (outcome in ANSWERED) is True


def test_outcome_words_are_plain() -> None:
    assert [outcome_words(o) for o in ("not_fixed", "needs_input", "no_answer", "failed")] == [
        "not fixed", "waiting for your answer", "no answer", "failed"]  # fmt: skip
