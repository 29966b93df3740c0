"""Slack messages the bot is still streaming into, so a restarted process can finish them.

Each row belongs to the executor that streams it. A stream is noted *before* Slack is asked to
open it, because a crash between Slack's answer and the row would leave a stream open that
nobody knows about.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from agents.queries import ACTIVE
from agents.runtime import current_engine
from core.models import LiveMessageRow, RunRow

STARTING = "starting:"  # the ts of a stream being opened, until Slack has answered with its ts


async def live_starting(run_id: str, channel: str, thread_ts: str) -> str:
    """Note a stream about to be opened in a thread (a crash before `live_started` would
    otherwise leave it open and unknown); returns the note's key, to pass to `live_started`."""
    key = f"{STARTING}{uuid.uuid4().hex[:16]}"
    engine = current_engine()
    row = LiveMessageRow(channel=channel, ts=key, run_id=run_id, streaming=True,
                         created_at=time.time(), executor=engine.settings.executor_id,
                         thread_ts=thread_ts)  # fmt: skip
    await engine.db.run(lambda session: session.add(row))
    return key


async def live_started(
    run_id: str, channel: str, ts: str, streaming: bool, thread_ts: str | None = None,
    replaces: str | None = None,
) -> None:  # fmt: skip
    """Remember a message the bot streams into, until it is finished (and drop the note of
    its opening, `replaces`, in the same transaction)."""
    engine = current_engine()

    def add(session: Session) -> None:
        if replaces is not None and (note := session.get(LiveMessageRow, (channel, replaces))):
            session.delete(note)
        if session.get(LiveMessageRow, (channel, ts)) is None:
            session.add(LiveMessageRow(channel=channel, ts=ts, run_id=run_id,
                                       streaming=streaming, created_at=time.time(),
                                       executor=engine.settings.executor_id,
                                       thread_ts=thread_ts))  # fmt: skip

    await engine.db.run(add)


async def live_finished(channel: str, ts: str) -> None:
    """The message is complete."""

    def remove(session: Session) -> None:
        row = session.get(LiveMessageRow, (channel, ts))
        if row is not None:
            session.delete(row)

    await current_engine().db.run(remove)


async def open_stream(run_id: str) -> tuple[str, float] | None:
    """(ts, when it was opened) of the run's newest message still streaming, whichever
    process opened it (the one its running cards show in); None when it has none."""

    def read(session: Session) -> tuple[str, float] | None:
        row = session.scalars(select(LiveMessageRow).where(
            LiveMessageRow.run_id == run_id, LiveMessageRow.streaming.is_(True),
            LiveMessageRow.ts.not_like(f"{STARTING}%"),
        ).order_by(LiveMessageRow.created_at.desc()).limit(1)).first()  # fmt: skip
        return (row.ts, row.created_at) if row is not None else None

    return await current_engine().db.run(read)


async def ended_elsewhere(run_id: str, channel: str, ts: str) -> bool:
    """Whether another process finished this stream for a run that has ended (its row is
    gone and the run's is no longer active): the stream's end and footer are that process's
    to write, and this one's later events of the run have nowhere to go."""

    def read(session: Session) -> bool:
        if session.get(LiveMessageRow, (channel, ts)) is not None:
            return False
        run = session.get(RunRow, run_id)
        return run is not None and run.status not in ACTIVE

    return await current_engine().db.run(read)


async def live_streams(channel: str, run_ids: list[str]) -> set[str]:
    """The ts of the messages still streaming in `channel` for any of `run_ids`."""

    def read(session: Session) -> set[str]:
        rows = session.scalars(select(LiveMessageRow.ts).where(
            LiveMessageRow.channel == channel, LiveMessageRow.run_id.in_(run_ids),
            LiveMessageRow.streaming.is_(True))).all()  # fmt: skip
        return set(rows)

    return await current_engine().db.run(read) if run_ids else set()


@dataclass(frozen=True)
class LiveLeftover:
    """A message this executor's previous process left streaming (or was opening)."""

    channel: str
    ts: str
    streaming: bool
    thread_ts: str | None
    created_at: float
    run_ended: bool = False
    """Its run has ended (the stream's final stop was refused, or the process died while it
    was sent): nothing resumes it, and the step that ended it posts what it did not show."""
    run_id: str = ""

    @property
    def opening(self) -> bool:
        """Slack may have opened the stream, but its ts was never recorded."""
        return self.ts.startswith(STARTING)


async def live_leftovers() -> list[LiveLeftover]:
    """Messages this executor left unfinished when its process died (other workers' live
    streams are theirs to finish; rows from before owners were recorded count as ours)."""
    engine = current_engine()
    mine = or_(LiveMessageRow.executor == engine.settings.executor_id,
               LiveMessageRow.executor.is_(None))  # fmt: skip

    def read(session: Session) -> list[LiveLeftover]:
        rows = session.scalars(select(LiveMessageRow).where(mine)).all()
        runs = {r.run_id for r in rows}
        over = select(RunRow.id).where(RunRow.id.in_(runs), RunRow.status.not_in(ACTIVE))
        ended = set(session.scalars(over).all())
        return [LiveLeftover(r.channel, r.ts, r.streaming, r.thread_ts, r.created_at,
                             r.run_id in ended, r.run_id) for r in rows]  # fmt: skip

    return await engine.db.run(read)


@dataclass(frozen=True)
class RunPlace:
    """What a renderer needs of a run it did not start (it resumed after a restart)."""

    thread_id: str
    requester: str | None
    status: str
    requester_team: str | None = None

    @property
    def waiting(self) -> bool:
        """The run was only waiting for a person's decision, no work in progress."""
        return self.status == "waiting_approval"


async def run_place(run_id: str) -> RunPlace | None:
    """The run's thread, the person who asked and their team (a channel stream is addressed
    to them) and its status, from the run's row; None for an unknown run."""

    def read(session: Session) -> RunPlace | None:
        row = session.get(RunRow, run_id)
        if row is None:
            return None
        return RunPlace(row.thread_id, row.requester, row.status, row.requester_team)

    return await current_engine().db.run(read)
