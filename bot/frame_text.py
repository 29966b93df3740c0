"""Outside strings placed in the agent's input, made unable to pass for its structure.

The thread the agent reads (bot/thread_context.py) is a `<slack_thread>` frame of entries,
each headed `[YYYY-MM-DD HH:MM UTC] author:` on a line of its own, opsbot's own entries
`opsbot (you)`. Everything else in it comes from outside: message text, people's names, other
apps' names and usernames, attachment authors, titles and fields, file names. Two rules keep
that data from forging the structure:

- `defused(text)`: no tag that opens or closes the frame, and no line that starts like an
  entry header (such a line is shown quoted, `> [...]`);
- `label(text)`: a name is one line (whitespace folded, at most `MAX_LABEL_CHARS`), defused,
  with no square brackets (the header's timestamp) and no `(you)` (opsbot's own marker).
"""

from __future__ import annotations

import re

TAG = "slack_thread"
MAX_LABEL_CHARS = 80
_TAG_LOOKALIKE = re.compile(rf"<(/?)\s*{TAG}", re.IGNORECASE)
_HEADER_LOOKALIKE = re.compile(r"^([ \t]*)(\[[^\]\n]*\bUTC\s*\])", re.MULTILINE | re.IGNORECASE)
_OWN_MARKER = re.compile(r"\(\s*you\s*\)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def one_line(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """`text` on one line: every run of whitespace (newlines, tabs, Unicode spaces) one space,
    trimmed, cut to `limit` characters with `…` when longer."""
    folded = _SPACE.sub(" ", text).strip()
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"


def defused(text: str) -> str:
    """Text that cannot close or open the frame around it (`</slack_thread>` reads
    `[/slack_thread]`) nor start a line as an entry header does (quoted with `> `)."""
    text = _TAG_LOOKALIKE.sub(lambda m: f"[{m.group(1)}{TAG}]", text)
    return _HEADER_LOOKALIKE.sub(lambda m: f"{m.group(1)}> {m.group(2)}", text)


def label(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """A name from outside as an entry's author: one line, defused, `[` `]` as `(` `)`,
    without opsbot's `(you)` marker; `unknown` when nothing is left."""
    flat = one_line(_OWN_MARKER.sub(" ", text), limit)
    flat = defused(flat).replace("[", "(").replace("]", ")")
    return flat or "unknown"
