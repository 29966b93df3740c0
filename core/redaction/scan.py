"""`finditer` in linear time for patterns that open with a repeated class.

Such a pattern (`\\b[A-Za-z][\\w+.-]*://...`, `sk-[A-Za-z0-9_-]*...T3BlbkFJ...`) is tried by
`re.finditer` from every position inside a long run of its class, each try reading the rest of
the run: the square of the run's length (a 24,000-character `a-a-a-...` took seconds). Where
every start after a failed one, up to some end, must fail the same way (it reads the same rest,
or a part of what the failed start could read), one failed try is enough for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

Skip = Callable[[str, int], int]


def until(stop: re.Pattern[str]) -> Skip:
    """A skip to the first character matching `stop` at or after the failed start (or the
    text's end): for runs of one class, `stop` is the class's complement."""

    def skip(text: str, start: int) -> int:
        found = stop.search(text, start)
        return found.start() if found else len(text)

    return skip


def runs_finditer(
    pattern: re.Pattern[str],
    text: str,
    starts: re.Pattern[str],
    skip: Skip,
    pos: int = 0,
    endpos: int | None = None,
) -> Iterator[re.Match[str]]:
    """The matches `pattern.finditer(text, pos, endpos)` gives, for a pattern that can start
    only where `starts` matches and that, failing at a start s, fails at every start in
    (s, skip(text, s)). The caller proves that for its pattern; matches are never empty."""
    end = len(text) if endpos is None else endpos
    while pos < end and (start := starts.search(text, pos, end)):
        match = pattern.match(text, start.start(), end)
        if match is not None and match.end() > match.start():
            yield match
            pos = match.end()
        else:
            pos = max(skip(text, start.start()), start.start() + 1)
