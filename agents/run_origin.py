"""Where a run began in its thread: the ts of the message that asked for it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agents.runtime import current_engine
from core.models import RunRow


async def request_ts(run_id: str) -> str | None:
    """The Slack ts of the message that started run `run_id` (everything the bot wrote for
    the run in its thread comes after it); None for an unknown run or one without a ts."""

    def read(session: Session) -> str | None:
        row = session.get(RunRow, run_id)
        return (row.message_ts or None) if row is not None else None

    return await current_engine().db.run(read)
