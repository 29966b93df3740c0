"""Finding `key: value` pairs in time linear in the text's length.

`find_pair(text, pos, runs)` returns what `_PAIR.search(text, pos)` (the pattern below, with
its value unbounded) would return, without the two ways that search grows with the square
of a long run: it starts a key only where one can match (the first key start of a run of key
characters, the one backslash count a quoted key can have), and it reads a bare value's run of
characters once however many keys inside it are tried (`a=a=a=...`: each nested key's value
ends where the outer one ends). `Runs` remembers that run and what its suffixes can be.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

_BARE = r"""[^\s,;"'`<>(){}\[\]&|]"""
# The pair pattern with its bare value cut to its first character: a greedy run with nothing
# after it always reaches the first character outside it, which `Runs.end` finds once.
_PAIR = re.compile(
    rf"""(?x)
    (?<![\w.])(?P<kq>\\*["']|)(?P<key>[A-Za-z_][\w.-]*)(?P=kq)
    [ \t]*(?:=>|:=|[:=])[ \t]*
    (?:(?P<eq>\\*)"(?P<dq>(?:[^"\\\n]|\\[^"\n])*)(?P=eq)"
      |'(?P<sq>[^'\n]*)'
      |(?P<bare>{_BARE}))
    """
)
_BARE_END = re.compile(r"""[\s,;"'`<>(){}\[\]&|]""")
# Where a match can start: a backslash run (not inside one) ending in a quote, or a key letter.
_START = re.compile(r"""(?P<quoted>(?<!\\)\\*["'])|(?<![\w.])[A-Za-z_]""")
_KEY_THEN_CLOSE = re.compile(r"""[A-Za-z_][\w.-]*(?P<close>\\*)["']""")
_KEY_RUN_END = re.compile(r"[^\w.-]")
_CLASSES = (re.compile("[a-z]"), re.compile("[A-Z]"), re.compile("[0-9]"))
_RANDOM_BITS = 4.5  # judge.random_looking's least entropy
_MARGIN = 1e-9  # a summed entropy so close to the bound is judged by judge.entropy itself
_LONG = 256  # runs at least this long have their suffix entropies worked out at once
_FEW = 23  # fewer distinct characters than this: entropy below log2(22) < 4.5 bits


class Pair(NamedTuple):
    """One `key = value`: the key's span, the value's span, its form and the match's end."""

    key_start: int
    key_end: int
    group: str  # "dq", "sq" or "bare"
    start: int
    end: int
    match_end: int


class Runs:
    """The bare run last read in one text: its end, and facts that hold for every suffix."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.start, self.end = 0, -1
        self._facts: tuple[bool, bool, int] | None = None
        self._entropies: list[float] | None = None

    def run_end(self, start: int) -> int:
        """Where the bare value starting at `start` ends (the first character outside it)."""
        if not self.start <= start < self.end:
            found = _BARE_END.search(self._text, start)
            self.start, self.end = start, found.start() if found else len(self._text)
            self._facts, self._entropies = None, None
        return self.end

    def never_random(self, start: int) -> bool:
        """True when no value from `start` (inside the current run) to the run's end can pass
        `judge.random_looking`: it lacks a lowercase letter, a capital or a digit, or the run
        holds fewer than 23 distinct characters, or (in a long run) the value's entropy is
        under 4.5 bits; never for a run with a `%` (such a value is decoded first)."""
        if self._facts is None:
            run = self._text[self.start : self.end]
            backwards = run[::-1]
            found = [rx.search(backwards) for rx in _CLASSES]
            last = [self.end - 1 - m.start() if m else -1 for m in found]
            self._facts = ("%" not in run and len(set(run)) < _FEW, "%" in run, min(last))
        few, percent, last_of_rarest = self._facts
        if percent:
            return False
        if few or last_of_rarest < start:
            return True
        if self.end - self.start < _LONG:
            return False  # a short run is judged value by value
        if self._entropies is None:
            self._entropies = _suffix_entropies(self._text[self.start : self.end])
        return self._entropies[start - self.start] < _RANDOM_BITS - _MARGIN


def _suffix_entropies(run: str) -> list[float]:
    """Shannon entropy (bits per character) of every suffix of `run`, in one pass from its end:
    H = log2(n) - S/n with S the sum of c*log2(c) over the suffix's character counts."""
    counts: dict[str, int] = {}
    total, out = 0.0, [0.0] * len(run)
    for at in range(len(run) - 1, -1, -1):
        c = counts.get(run[at], 0)
        total += (c + 1) * math.log2(c + 1) - (c * math.log2(c) if c else 0.0)
        counts[run[at]] = c + 1
        size = len(run) - at
        out[at] = math.log2(size) - total / size
    return out


def _pair(text: str, match: re.Match[str], runs: Runs) -> Pair:
    for group in ("dq", "sq"):
        if match.group(group) is not None:
            return Pair(*match.span("key"), group, *match.span(group), match.end())
    start = match.start("bare")
    end = runs.run_end(start)
    return Pair(*match.span("key"), "bare", start, end, end)


def find_pair(text: str, pos: int, runs: Runs) -> Pair | None:
    """The first pair starting at or after `pos`, as `_PAIR.search(text, pos)` with an
    unbounded bare value finds it; None when there is none."""
    if 0 < pos < len(text) and text[pos - 1] == "\\" and text[pos] in "\\\"'":
        # `pos` inside a backslash run: the run's rest (and its quote) is a start of its own
        pair = _quoted(text, pos, runs)
        if pair is not None:
            return pair
        pos = _past_backslashes(text, pos) + (text[pos] != "\\")
    while start := _START.search(text, pos):
        if start.group("quoted") is not None:
            match = _quoted(text, start.start(), runs)
            if match is not None:
                return match
            pos = start.end()  # the key after the quote is tried next, unquoted
            continue
        found = _PAIR.match(text, start.start())
        if found is not None:
            return _pair(text, found, runs)
        # every later key start in this run reads the same rest and fails the same way
        end = _KEY_RUN_END.search(text, start.start())
        pos = end.start() if end else len(text)
    return None


def _past_backslashes(text: str, pos: int) -> int:
    while text.startswith("\\", pos):
        pos += 1
    return pos


def _quoted(text: str, run_start: int, runs: Runs) -> Pair | None:
    """A quoted key whose opening backslashes and quote start inside [run_start, quote]: only
    the start leaving as many backslashes as close the key can match."""
    quote = _past_backslashes(text, run_start)
    if quote >= len(text) or text[quote] not in "\"'":
        return None
    after = _KEY_THEN_CLOSE.match(text, quote + 1)
    if after is None:
        return None
    begin = quote - len(after.group("close"))
    if begin < run_start:
        return None
    found = _PAIR.match(text, begin)
    return _pair(text, found, runs) if found is not None else None
