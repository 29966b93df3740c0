"""The routed line is one line whatever the router wrote: it goes on inside the stream, where a
line break, a code fence or a page of text would change how everything after it reads."""

from __future__ import annotations

import pytest

from bot.blocks import MAX_REASON, routed_line


@pytest.mark.parametrize(
    "reason",
    ["the fix is\nin the config", "```\nrm -rf /\n```", "a ``` b", "x" * 5000,
     "word " * 400, "tabs\tand\r\ncarriage returns", "\n\n\n"],
    ids=["newline", "fenced", "inline-fence", "no-spaces", "many-words", "tabs-crlf", "blank"],
)  # fmt: skip
def test_a_routed_line_is_one_short_line_without_a_fence(reason: str) -> None:
    line = routed_line("coding", reason)
    assert not set(line) & {"\n", "\r", "\t"}
    assert "```" not in line
    assert line.startswith(":compass: *coding* — ")
    assert len(line) <= len(":compass: *coding* — ") + MAX_REASON + 2


def test_a_short_reason_stays_as_written() -> None:
    assert routed_line("log_analyzer", "look at the logs") == (
        ":compass: *log_analyzer* — look at the logs"
    )
