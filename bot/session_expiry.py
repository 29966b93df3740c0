"""Idle threads' agent sessions become `closed`: a periodic sweep in the bot process.

docs.slack.dev/reference/methods/agents.sessions.setStatus lists `closed` beside `processing`,
`suspended` and `active`; opsbot sets it on a Slack thread once
`OPSBOT_SESSION_CLOSE_AFTER_S` (24 h by default) have passed since its last run ended with
nothing running or waiting there (agents/session_expiry.py picks them and claims each one, so
two processes close a session once). A new mention in the thread starts a run, which sets
`processing` again; it is closed again once idle again.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agents import session_expiry
from bot.session_status import SessionStatus

log = logging.getLogger(__name__)

SWEEP_MAX_S = 300.0
"""The longest wait between sweeps (seconds); shorter when sessions close sooner than that."""


def sweep_interval(close_after_s: float) -> float:
    """Seconds between sweeps: a tenth of the idle time, between 1 and `SWEEP_MAX_S`."""
    return min(SWEEP_MAX_S, max(1.0, close_after_s / 10))


async def close_idle_sessions(status: SessionStatus, close_after_s: float) -> int:
    """One sweep: set `closed` on each idle thread this process claims; returns how many.
    The calls go out in the background (bot/session_status.py), each checked against the
    database once sent: a run another process started in the thread since the claim, whose
    status reached Slack first, gets its status back."""
    now = time.time()
    closed = 0
    for idle in await session_expiry.idle_sessions(close_after_s, now):
        if await session_expiry.claim_closing(idle, now):
            status.want(idle.channel, idle.thread_ts, "closed", thread_id=idle.thread_id)
            closed += 1
    return closed


async def sweep_forever(status: SessionStatus, close_after_s: float) -> None:
    """Sweep until cancelled; a failed sweep (the database away for a moment) is logged and
    tried again at the next interval."""
    while True:
        await asyncio.sleep(sweep_interval(close_after_s))
        if not status.available:
            return  # the workspace has no agent sessions: nothing to close, ever
        try:
            if closed := await close_idle_sessions(status, close_after_s):
                log.info("closed %d idle agent session(s)", closed)
        except Exception as error:  # the sweep must never stop the bot
            log.warning("closing idle agent sessions failed: %s", error)
