"""Splitting text to Slack's limits: nothing dropped, cut where it reads well."""

from __future__ import annotations

import pytest

from agents.events import RunFinished
from bot.answer import ANSWER_PIECE, final_messages, unshown_part
from bot.blocks import status_blocks
from bot.text_split import FENCE, bounded_lines, split, take
from sandbox.slack.blocks import validate_blocks


def _unfenced(pieces: list[str]) -> str:
    """The pieces joined, without the fences a cut added."""
    return "".join(pieces).replace(f"\n{FENCE}{FENCE}\n", "\n")


@pytest.mark.parametrize(
    "text",
    [
        "\n\n".join(f"Paragraph {n}: " + "words and more words. " * 20 for n in range(60)),
        "\n".join(f"log line {n} ERROR something broke" for n in range(2000)),
        "x" * 30_001,  # no boundary at all
        "One sentence. " * 3000,
        "before\n```\n" + "\n".join(f"code {n}" for n in range(3000)) + "\n```\nafter",
    ],
)
def test_pieces_fit_and_join_back_to_the_text(text: str) -> None:
    pieces = split(text, 12_000)
    assert all(0 < len(p) <= 12_000 for p in pieces)
    assert _unfenced(pieces) == text
    assert all(p.count(FENCE) % 2 == 0 for p in pieces), "each piece renders its code as code"


def test_a_cut_prefers_a_blank_line_then_a_line_end_then_a_sentence() -> None:
    head, _ = take("a" * 60 + "\n\n" + "b" * 30 + "\n" + "c" * 50, 100)
    assert head.endswith("\n\n")
    head, _ = take("a" * 60 + "\n" + "b" * 50, 100)
    assert head.endswith("\n")
    head, _ = take("a" * 70 + ". " + "b" * 50, 100)
    assert head.endswith(". ")


def test_a_cut_never_splits_a_mention_or_a_link() -> None:
    text = "x" * 90 + "<https://example.com/a/very/long/path|label> tail"
    head, rest = take(text, 100)
    assert "<" not in head
    assert rest.startswith("<https://")


def test_lines_only_refuses_to_cut_a_line() -> None:
    assert take("one long line without an end " * 10, 100, lines_only=True)[0] == ""
    head, rest = take("short line\n" + "y" * 200, 100, lines_only=True)
    assert (head, rest[:3]) == ("short line\n", "yyy")


def test_too_small_a_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        take("text", 10)


def test_bounded_lines_count_what_does_not_fit() -> None:
    lines = [f"• run {n:03d} with a status line" for n in range(500)]
    text = bounded_lines(lines, 3000)
    assert len(text) <= 3000
    kept = text.count("• run")
    assert text.endswith(f"… and {500 - kept} more")


def _finished(answer: str) -> RunFinished:
    return RunFinished(run_id="r", outcome="succeeded", answer=answer, limit=None,
                       input_tokens=1, output_tokens=2, cost_usd=0.0, duration_s=1.0)  # fmt: skip


def test_an_answer_the_thread_shows_is_not_repeated() -> None:
    answer = "**Root cause found.** The cache.\n\n**Fixed.** Looked up with .get()."
    shown = "Looking at logs.\n> :gear: `search_logs` — ok\n" + answer.replace("\n\n", "\n")
    assert unshown_part(answer, shown) == ""
    messages = final_messages(_finished(answer), "")
    assert len(messages) == 1
    assert "Root cause" not in str(messages)
    assert "succeeded" in messages[0][0]


def test_what_the_thread_does_not_show_is_posted() -> None:
    answer = "Done.\n\n_The run stopped: the model is overloaded._"
    assert unshown_part(answer, "Done.") == "_The run stopped: the model is overloaded._"
    assert unshown_part("I could not produce an answer.", "") == "I could not produce an answer."


def test_a_long_final_answer_goes_into_several_valid_messages() -> None:
    answer = "\n\n".join(f"Finding {n}: " + "detail " * 40 for n in range(120))
    messages = final_messages(_finished(answer), answer)
    assert len(messages) >= 3
    for text, blocks in messages:
        assert validate_blocks(blocks) == []
        assert sum(len(b["text"]) for b in blocks if b["type"] == "markdown") <= ANSWER_PIECE
        assert len(text) <= 40_000
    joined = "".join(b["text"] for _, blocks in messages for b in blocks if b["type"] == "markdown")
    assert joined == answer.strip()
    assert "tokens" in str(messages[-1][1][-1])


def test_status_sections_stay_within_a_section_whatever_the_number_of_runs() -> None:
    from agents.queries import Overview, PendingApproval

    def pending(n: int) -> PendingApproval:
        return PendingApproval(approval_id=f"a{n}", run_id=f"T:C:{n}.0", tool_name="shell",
                               risk="critical", preview="x", requester=None, created_at=0.0,
                               expires_at=1.0, card_channel="C", card_ts=f"{n}.0")  # fmt: skip

    waiting = [pending(n) for n in range(300)]
    overview = Overview(running=[], waiting=waiting, queued=[f"q{n}" for n in range(400)],
                        finished=[])  # fmt: skip
    blocks = status_blocks(overview, "sandbox", "#incidents")
    assert validate_blocks(blocks) == []
    assert "more" in str(blocks)
