"""Scripted answers read as Slack shows them: no line break inside a sentence (Slack keeps
every newline of a message, so a hard-wrapped paragraph breaks mid-line in the thread)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from sandbox.model.scenario import SCENARIOS_DIR

PROSE_KEYS = {"text", "description", "suspected_cause", "summary", "reason", "prompt"}
NEW_ELEMENT = re.compile(r"^\s*([-*•]\s|\d+[.)]\s|#|>|\||```)")


def broken_lines(text: str) -> list[str]:
    """The lines of `text` that a line break splits from their paragraph: a non-blank line that
    follows a non-blank line (not a heading) without starting a list item, heading, quote,
    table row or code fence. Lines inside code fences are left alone."""
    found, fence, previous = [], False, ""
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            fence, previous = not fence, ""
            continue
        after_heading = previous.lstrip().startswith("#")
        if (
            not fence
            and line.strip()
            and previous.strip()
            and not after_heading
            and not NEW_ELEMENT.match(line)
        ):
            found.append(f"{previous.strip()!r} / {line.strip()!r}")
        previous = "" if fence else line
    return found


def prose(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every prose string of a script (the keys a person reads), with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PROSE_KEYS and isinstance(item, str):
                yield f"{where}.{key}", item
            else:
                yield from prose(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from prose(item, f"{where}[{index}]")


@pytest.mark.parametrize(
    ("text", "broken"),
    [
        ("is back to INFO with\nrotation (100 MB x 5)", 1),  # the reviewer's input
        ("- a list item that wraps\n  onto the next line", 1),
        ("> a quote that\n> goes on", 0),  # each quoted line is its own element
        ("First.\nSecond sentence\ncontinued.", 2),
        ("Steps:\n- one\n- two\n\n```\ncode line\nmore code\n```\nDone.", 0),
        ("# Heading\nbody text", 0),
    ],
)
def test_the_check_finds_a_line_break_inside_a_paragraph(text: str, broken: int) -> None:
    assert len(broken_lines(text)) == broken, broken_lines(text)


@pytest.mark.parametrize("script", sorted(SCENARIOS_DIR.glob("*/script.yaml")), ids=str)
def test_no_scripted_paragraph_breaks_inside_a_sentence(script: Any) -> None:
    data = yaml.safe_load(script.read_text(encoding="utf-8"))
    problems = [f"{where}: {line}" for where, text in prose(data) for line in broken_lines(text)]
    assert not problems, "\n".join(problems)
