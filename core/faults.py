"""Test-only fault points: `OPSBOT_FAULT=point[:n],...` makes the process SIGKILL itself at
the n-th time it passes a named point. Inactive unless set.

Points: after_route, mid_stream, after_tool, waiting_approval, between_cas_and_send,
during_shell, while_posting, after_stream_start (Slack opened a stream; not yet recorded),
before_stream_stop, after_event_ack (Slack has its ack; the listener has not run),
after_alert_recorded (an Alertmanager notification is in the database; no 200 yet),
after_alert_card (an alert card is posted; its ts is not recorded).
"""

from __future__ import annotations

import logging
import os
import signal
import sys

POINTS = frozenset({"after_route", "mid_stream", "after_tool", "waiting_approval",
                    "between_cas_and_send", "during_shell", "while_posting",
                    "after_stream_start", "before_stream_stop",
                    "after_event_ack", "after_card", "after_mcp_answer",
                    "after_alert_recorded", "after_alert_card", "after_push",
                    "after_pull_request"})  # fmt: skip

log = logging.getLogger(__name__)
_armed: dict[str, int] = {}
_seen: dict[str, int] = {}


def arm(spec: str | None) -> None:
    """Arm the points named in `spec` (e.g. "mid_stream:3,after_tool"); None disarms all."""
    _armed.clear()
    _seen.clear()
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, _, count = item.strip().partition(":")
        if name not in POINTS:
            raise ValueError(f"unknown fault point {name!r} (known: {', '.join(sorted(POINTS))})")
        _armed[name] = int(count or 1)


def point(name: str) -> None:
    """Pass a fault point: die here if it is armed for this pass."""
    if name not in _armed:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == _armed[name]:
        print(f"opsbot: fault point {name} #{_seen[name]}: killing the process", file=sys.stderr,
              flush=True)  # fmt: skip
        os.kill(os.getpid(), signal.SIGKILL)
