"""Threads whose agent session has been idle long enough to be `closed` (or whose incident is
over: its alert group resolved).

A thread qualifies when none of its runs is running or waiting, its last run ended before the
cutoff, and its session was not closed since that run ended. Closing is claimed in the
database (`opsbot_threads.session_closed_at`), so several processes sweeping at once close a
session once.

`implied_status` is the session status the database says a thread should show; a process
reads it after each status it sets (bot/session_status.py), since the calls of several
processes reach Slack in no guaranteed order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from agents.queries import ACTIVE
from agents.runtime import current_engine
from core.models import RunRow, ThreadRow

MAX_PER_SWEEP = 100
"""Sessions closed per sweep at most: a backlog (the first sweep after an upgrade) is spread
over several sweeps instead of one burst of Slack calls."""


@dataclass(frozen=True)
class IdleSession:
    """A Slack thread to close: its id (`team:channel:thread_ts`) and when its last run ended."""

    thread_id: str
    channel: str
    thread_ts: str
    last_finished_at: float


def _idle(session: Session, cutoff: float) -> list[IdleSession]:
    busy = select(RunRow.thread_id).where(RunRow.status.in_(ACTIVE))
    last = func.max(RunRow.finished_at)
    rows = session.execute(
        select(ThreadRow.id, ThreadRow.channel, ThreadRow.thread_ts, last)
        .join(RunRow, RunRow.thread_id == ThreadRow.id)
        .where(~ThreadRow.id.like("local:%"), ThreadRow.id.not_in(busy))
        .group_by(ThreadRow.id, ThreadRow.channel, ThreadRow.thread_ts,
                  ThreadRow.session_closed_at)
        .having(last < cutoff)
        .having(or_(ThreadRow.session_closed_at.is_(None), ThreadRow.session_closed_at < last))
        .order_by(last)
        .limit(MAX_PER_SWEEP)
    ).all()  # fmt: skip
    return [IdleSession(r[0], r[1], r[2], float(r[3] or 0.0)) for r in rows]


async def idle_sessions(idle_s: float, now: float) -> list[IdleSession]:
    """Slack threads idle for more than `idle_s` seconds at `now` (epoch seconds) whose session
    is not closed yet, longest idle first, at most `MAX_PER_SWEEP`."""
    return await current_engine().db.run(lambda s: _idle(s, now - idle_s))


def _claim(session: Session, thread_id: str, last_finished_at: float, now: float) -> bool:
    """Mark the thread's session closed at `now` unless a run of the thread works or waits (a
    run started since the thread was picked, a new mention, keeps it open: its `processing`
    came before this `closed`, which would win, bot/session_status.py) or it was already
    closed since `last_finished_at`; True when this call marked it."""
    busy = exists().where(RunRow.thread_id == thread_id, RunRow.status.in_(ACTIVE))
    result = session.execute(
        update(ThreadRow)
        .where(ThreadRow.id == thread_id, ~busy)
        .where(or_(ThreadRow.session_closed_at.is_(None),
                   ThreadRow.session_closed_at < last_finished_at))
        .values(session_closed_at=now)
    )  # fmt: skip
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim_closing(idle: IdleSession, now: float) -> bool:
    """Record that this process closes the session; False when another process (or a sweep
    that raced this one) already did since its last run ended, or a run of the thread works
    or waits now."""
    return await current_engine().db.run(
        lambda s: _claim(s, idle.thread_id, idle.last_finished_at, now)
    )


async def claim_closing_now(thread_id: str, now: float) -> bool:
    """Record that this process closes the thread's session at once (the incident is over:
    its alert group resolved); False when a run of the thread is running or waiting, the
    thread is unknown, or its session is already closed since its last run ended."""

    def claim(session: Session) -> bool:
        last = session.scalar(select(func.max(RunRow.finished_at))
                              .where(RunRow.thread_id == thread_id)) or 0.0  # fmt: skip
        return _claim(session, thread_id, last, now)

    return await current_engine().db.run(claim)


def _implied(session: Session, thread_id: str) -> str | None:
    known = session.execute(
        select(ThreadRow.session_closed_at).where(ThreadRow.id == thread_id)
    ).first()
    if known is None:
        return None
    working = set(session.scalars(select(RunRow.status).where(
        RunRow.thread_id == thread_id, RunRow.status.in_(ACTIVE))))  # fmt: skip
    if "running" in working:
        return "processing"
    if "waiting_approval" in working:
        return "suspended"
    closed_at = known[0]
    last = session.scalar(select(func.max(RunRow.finished_at))
                          .where(RunRow.thread_id == thread_id))  # fmt: skip
    if closed_at is not None and (last is None or closed_at >= last):
        return "closed"
    return "active"


async def implied_status(thread_id: str) -> str | None:
    """The agent session status the database says the thread (`team:channel:thread_ts`)
    should show now: `processing` while a run of it works, else `suspended` while one waits
    for a decision, else `closed` while a claim to close it stands (no run ended since), else
    `active`; None for a thread the database does not know. Raises what the database raises
    (RuntimeError when no engine is launched)."""
    return await current_engine().db.run(lambda s: _implied(s, thread_id))
