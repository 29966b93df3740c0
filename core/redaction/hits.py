"""A found secret: where it is in the text and what kind it is."""

from __future__ import annotations

import bisect
from typing import NamedTuple


class Hit(NamedTuple):
    """The span [start, end) of a secret value in a text, and its kind (`aws_key`, ...)."""

    start: int
    end: int
    kind: str


def choose(hits: list[Hit]) -> list[Hit]:
    """Non-overlapping hits, longest first, returned in text order.

    The hits taken so far are disjoint and kept by start, so a new one overlaps one of them
    exactly when it overlaps its neighbour on either side (n log n; comparing each hit with
    every hit taken was quadratic in a text with thousands of secrets)."""
    taken: list[Hit] = []
    starts: list[int] = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        if hit.end <= hit.start:
            continue
        at = bisect.bisect_right(starts, hit.start)
        if (at and taken[at - 1].end > hit.start) or (
            at < len(taken) and taken[at].start < hit.end
        ):
            continue
        starts.insert(at, hit.start)
        taken.insert(at, hit)
    return sorted(taken)
