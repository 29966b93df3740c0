"""A found secret: where it is in the text and what kind it is."""

from __future__ import annotations

from typing import NamedTuple


class Hit(NamedTuple):
    """The span [start, end) of a secret value in a text, and its kind (`aws_key`, ...)."""

    start: int
    end: int
    kind: str


def choose(hits: list[Hit]) -> list[Hit]:
    """Non-overlapping hits, longest first, returned in text order."""
    taken: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        if hit.end > hit.start and all(hit.end <= t.start or hit.start >= t.end for t in taken):
            taken.append(hit)
    return sorted(taken)
