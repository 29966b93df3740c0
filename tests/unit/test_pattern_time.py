"""Patterns that read text a model, a log or a person wrote finish in time linear in its length:
a pattern that tries a long run of one kind of character from every position inside it (or,
worse, in 2**n ways) holds the event loop for seconds to hours. Each input is a run of the
kind of character the pattern repeats; the bounds are 100 times what a linear pass takes here,
and far under what the quadratic or exponential forms took (noted per test)."""

from __future__ import annotations

import time

import pytest

from core.redact import Redactor, StreamRedactor
from tests.unit.test_program_allowlists import reasons

BLOB = "".join(f"{n:06x}" for n in range(4000))  # 24,000 characters without a space
RUNS = [
    BLOB,
    "a" * 24_000,
    "\\" * 24_000,  # before: 1.3 s per 3,000-character search of a credential key's opener
    "key" * 8_000,  # a credential word over and over, no value after it
    "token." * 4_000,
    "Ab0+/=" * 4_000,  # base64 characters: a wrapped token waits for its next line
    "password=" + "x" * 24_000,
    "password='" + "x" * 24_000,  # an open quote after a credential key
]


@pytest.mark.parametrize("run", RUNS, ids=lambda run: repr(run[:12]))
@pytest.mark.parametrize("piece", [4, 64])
def test_a_long_run_streams_in_linear_time_and_comes_out_whole(run: str, piece: int) -> None:
    """Before: a 24,000-character hex dump in model-sized pieces took 27 s to stream (the
    answer's live message was idle so long Slack ended it)."""
    stream = StreamRedactor(Redactor())
    started = time.perf_counter()
    shown = [stream.feed(run[i : i + piece]) for i in range(0, len(run), piece)]
    shown.append(stream.flush())
    assert time.perf_counter() - started < 3.0
    assert max(len(part) for part in shown[:-1]) > 0, "text is shown while it streams"
    if not run.startswith("password"):
        assert "".join(shown) == run


@pytest.mark.parametrize(
    "script",
    ["s/" + "\\\\" * 40, "s/a/" + "\\\\" * 40, "s|" + "\\\\" * 40 + "|x", "s#" + "\\a" * 40],
)
def test_a_sed_script_of_many_backslashes_is_classified_at_once(script: str) -> None:
    """Before: `s/` and 40 escaped backslashes had 2**40 ways to match (an hour and more)."""
    started = time.perf_counter()
    found = reasons(f"sed -n '{script}' app.log")
    assert time.perf_counter() - started < 1.0
    assert any("sed script" in reason for reason in found)
