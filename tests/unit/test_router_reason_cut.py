"""The classifier's reason is cut before it is redacted: a cut never keeps the head of a word,
which could be the head of a key too short for the redactor to recognise."""

from __future__ import annotations

import pytest

from agents.router import MAX_REASON, clipped_reason
from core.redact import Redactor

AWS_KEY = "AKIAQ7ZX4LPMWN2R8TVB"
SLACK_TOKEN = "xoxb-123456789012-1234567890123-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4"


@pytest.mark.parametrize(
    "reason",
    ["x" * 290 + AWS_KEY + " rotate it",  # no space before the key
     "the bot token " + "y" * 270 + " " + SLACK_TOKEN,  # the cut goes through the token
     "z " * 140 + "key=" + AWS_KEY],
)  # fmt: skip
def test_a_cut_reason_keeps_no_piece_of_a_key(reason: str) -> None:
    clipped = clipped_reason(reason)
    assert len(clipped) <= MAX_REASON
    assert clipped.endswith("…")
    shown = Redactor().for_run().redact(clipped)
    for secret in (AWS_KEY, SLACK_TOKEN):
        assert secret[:8] not in shown, shown


def test_a_short_reason_and_one_cut_between_words_keep_their_words() -> None:
    assert clipped_reason("look at the logs") == "look at the logs"
    words = "pool " * 100
    clipped = clipped_reason(words)
    assert clipped.startswith("pool pool")
    assert clipped.endswith("pool …")
    assert len(clipped) <= MAX_REASON
