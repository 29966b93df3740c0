"""Slack's size limits on one write, and splitting text to fit them at sensible boundaries.

Limits (docs.slack.dev):
- `markdown_text` of chat.startStream / appendStream / stopStream: 12,000 characters per call
  (reference/methods/chat.startStream);
- a message's `text`: 40,000 characters; chat.postMessage truncates beyond it, chat.update
  refuses it (`msg_too_long`; api.slack.com/changelog/2018-04-truncating-really-long-messages);
- all `markdown` blocks of one payload together: 12,000 characters
  (reference/block-kit/blocks/markdown-block);
- a section's text: 3,000 characters; 50 blocks per message, 100 per modal or App Home
  (reference/block-kit/blocks).

Nothing here drops text: a piece that does not fit goes into the next one.
"""

from __future__ import annotations

import re

STREAM_MARKDOWN_MAX = 12_000
TEXT_MAX = 40_000
MARKDOWN_BLOCKS_MAX = 12_000
SECTION_TEXT_MAX = 3_000
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100

FENCE = "```"
# Where a cut reads best, in order: a blank line, a line end, a sentence end, a space.
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?;:]\s"),
               re.compile(r"\s"))  # fmt: skip
MAX_MARKUP = 3_000
MIN_SHARE = 0.5  # a boundary earlier than half the room is not worth the short piece


def take(
    text: str, limit: int, *, lines_only: bool = False, in_code: bool = False
) -> tuple[str, str]:
    """(a head of at most `limit` characters, the rest), cut at the best boundary.

    The head ends at a blank line, a line end, a sentence end or a space in the last half of
    the room when there is one; never inside a `<...>` mention or link or a `[label](url)`; a
    code fence left open is closed at the cut and opened again in the rest, so both render.
    With `lines_only`, only a line end will do: ("", text) when there is none in the room
    (the caller starts a new message rather than cut a line). `in_code`: the text continues
    a code block opened before it. Raises ValueError for a limit
    too small to hold a fence (under 16).
    """
    if limit < 16:
        raise ValueError(f"limit {limit} is too small to split text")
    if len(text) <= limit:
        return text, ""
    room = limit - len(FENCE) - 1  # space to close a fence left open
    if lines_only:
        cut = text.rfind("\n", 0, room) + 1
        if cut == 0:
            return "", text
    else:
        cut = _best_cut(text, room)
    head, rest = text[:cut], text[cut:]
    if (head.count(FENCE) + in_code) % 2 == 1:
        head, rest = head.rstrip("\n") + "\n" + FENCE, FENCE + "\n" + rest.lstrip("\n")
    return head, rest


def _best_cut(text: str, room: int) -> int:
    window = text[:room]
    start = _open_markup(window)
    if start > 0:
        window = window[:start]  # the cut comes before a mention or link still open
    for boundary in _BOUNDARIES:
        ends = [m.end() for m in boundary.finditer(window)]
        if ends and ends[-1] >= room * MIN_SHARE:
            return ends[-1]
    return len(window)


def _open_markup(window: str) -> int:
    """Where a `<...>` or `[label](url)` that the window does not close starts; -1 if none
    (a markup longer than MAX_MARKUP is text, not a link)."""
    starts = [
        at
        for at, closer in ((window.rfind("<"), ">"), (window.rfind("["), ")"))
        if at >= 0 and window.find(closer, at) < 0 and len(window) - at <= MAX_MARKUP
    ]
    return min(starts) if starts else -1


def opens_code(text: str) -> bool:
    """Whether `text` ends inside a code block (an odd number of fences)."""
    return text.count(FENCE) % 2 == 1


def split(text: str, limit: int) -> list[str]:
    """`text` as pieces of at most `limit` characters each (see `take`); [] for ""."""
    pieces: list[str] = []
    while text:
        head, text = take(text, limit)
        pieces.append(head)
    return pieces


def bounded_lines(lines: list[str], limit: int, more: str = "… and {n} more") -> str:
    """Lines joined by newlines within `limit` characters; the lines that do not fit are
    counted in a last line (`more`, formatted with n) instead of being cut mid-line."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        tail = more.format(n=len(lines) - index)
        if size + len(line) + 1 + len(tail) + 1 > limit and index < len(lines) - 1:
            return "\n".join([*kept, tail])
        if size + len(line) + 1 > limit:
            return "\n".join([*kept, tail])
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)
