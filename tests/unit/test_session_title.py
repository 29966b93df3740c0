"""A thread's agent-session title: the opening message's first line, short and without mentions."""

from __future__ import annotations

import pytest

from bot.session_status import TITLE_MAX, session_title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("<@U0BOT> checkout is returning 500s", "checkout is returning 500s"),
        ("\n\n  <!here>  payments   time out\nsince 14:00", "payments time out"),
        ("<@U0BOT>\n<@U0LEAD> disk full on db-1", "disk full on db-1"),
        ("<@U0BOT>", ""),
        ("@channel @HERE checkout down", "checkout down"),
        ("<@U0BOT> \uff20everyone mail@here.example is down", "mail@here.example is down"),
        ("@channel\n@here", ""),
        ("", ""),
    ],
)
def test_the_first_line_without_mentions(text: str, title: str) -> None:
    assert session_title(text) == title


def test_a_long_line_is_cut_at_a_word_with_an_ellipsis() -> None:
    title = session_title("latency " * 40)
    assert len(title) <= TITLE_MAX
    assert title.endswith("latency…")
