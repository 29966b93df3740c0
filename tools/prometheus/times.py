"""Times and durations as the model writes them: RFC 3339, unix seconds, `now-1h`, `30s`.

Durations follow PromQL's: `1h30m`, `15s`, `2d` (units ms, s, m, h, d, w, y).
https://prometheus.io/docs/prometheus/latest/querying/basics/#float-literals-and-time-durations
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from tools.base import ToolError

_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"(?:\d+(?:ms|s|m|h|d|w|y))+")
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_RELATIVE = re.compile(r"now\s*(?:([+-])\s*(\S+))?")
_LATEST_UNIX_S = 1e11
"""Unix seconds above this (year 5138) are milliseconds or nonsense."""

TIME_HELP = "RFC 3339 (2026-11-30T14:00:00Z), unix seconds (1764511200), or now / now-1h / now-30m"
DURATION_HELP = "a PromQL duration like 30s, 5m, 1h30m, 2d, or a number of seconds"


def parse_duration(text: str | float, what: str = "duration") -> float:
    """Seconds in a PromQL duration (`1h30m`) or a plain number of seconds; > 0.

    Raises `ToolError` naming `what` and the accepted forms otherwise.
    """
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        stripped = text.strip()
        if _DURATION.fullmatch(stripped):
            seconds = sum(int(n) * _UNIT_S[unit] for n, unit in _PART.findall(stripped))
        else:
            try:
                seconds = float(stripped)
            except ValueError:
                raise ToolError(f"{what}={text!r} is not {DURATION_HELP}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ToolError(f"{what}={text!r} must be longer than zero ({DURATION_HELP})")
    return seconds


def parse_time(text: str | float, now: float, what: str = "time") -> float:
    """Unix seconds of an RFC 3339 time (naive: UTC), unix seconds, or `now[+-duration]`.

    Raises `ToolError` naming `what` and the accepted forms otherwise.
    """
    if isinstance(text, int | float):
        return _unix(float(text), text, what)
    stripped = text.strip()
    relative = _RELATIVE.fullmatch(stripped)
    if relative is not None:
        sign, amount = relative.groups()
        if sign is None:
            return now
        offset = parse_duration(amount, what)
        return now - offset if sign == "-" else now + offset
    try:
        return _unix(float(stripped), text, what)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(stripped.replace("z", "Z"))
    except ValueError:
        raise ToolError(f"{what}={text!r} is not a time: use {TIME_HELP}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _unix(seconds: float, text: str | float, what: str) -> float:
    if not math.isfinite(seconds) or seconds < 0:
        raise ToolError(f"{what}={text!r} is not a time: use {TIME_HELP}")
    if seconds > _LATEST_UNIX_S:
        raise ToolError(
            f"{what}={text!r} looks like milliseconds: give unix seconds, or {TIME_HELP}"
        )
    return seconds


def rfc3339(seconds: float) -> str:
    """`2026-11-30T14:00:00Z` (with milliseconds only when there are any)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def api_time(seconds: float) -> str:
    """A time as the Prometheus API takes it (unix seconds, up to milliseconds)."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def duration_text(seconds: float) -> str:
    """`1h30m`, `15s`, `2d`: the shortest PromQL duration for a whole number of seconds."""
    left = round(seconds)
    if left <= 0:
        return f"{seconds:g}s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = int(_UNIT_S[unit])
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts)
