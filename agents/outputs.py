"""The database-backed store of whole tool outputs (for `read_output`)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from core.db import Database
from core.models import ToolOutputRow


class DatabaseOutputs:
    """Keeps whole outputs in `opsbot_tool_outputs`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, output_id: str, text: str) -> None:
        """Keep `text` (again, when a step re-runs: same id, same row)."""

        def store(session: Session) -> None:
            row = session.get(ToolOutputRow, output_id)
            if row is None:
                session.add(
                    ToolOutputRow(output_id=output_id, content=text, created_at=time.time())
                )
            else:
                row.content = text

        await self.db.run(store)

    async def load(self, output_id: str) -> str | None:
        """The kept text, or None."""
        row = await self.db.run(lambda s: s.get(ToolOutputRow, output_id))
        return row.content if row is not None else None
