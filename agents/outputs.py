"""The database-backed store of whole tool outputs (for `read_output`), kept per thread."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy.orm import Session

from core.db import Database
from core.models import ToolOutputRow


class DatabaseOutputs:
    """Keeps whole outputs in `opsbot_tool_outputs`, each under the thread that made it.

    The row key is a digest of (thread, output id), so `load` from another thread finds
    nothing even when it knows the id. The unscoped store (scope "") is just one more scope.
    """

    def __init__(self, db: Database, scope: str = "") -> None:
        self.db = db
        self.scope = scope

    def for_thread(self, thread_id: str) -> DatabaseOutputs:
        """The same store, seen from one thread (its key, `ThreadRef.key`)."""
        return DatabaseOutputs(self.db, thread_id)

    def _key(self, output_id: str) -> str:
        return hashlib.sha256(f"{self.scope}\x00{output_id}".encode()).hexdigest()

    async def save(self, output_id: str, text: str) -> None:
        """Keep `text` (again, when a step re-runs: same id, same row)."""
        key = self._key(output_id)

        def store(session: Session) -> None:
            row = session.get(ToolOutputRow, key)
            if row is None:
                session.add(ToolOutputRow(output_id=key, content=text, created_at=time.time()))
            else:
                row.content = text

        await self.db.run(store)

    async def load(self, output_id: str) -> str | None:
        """The text this thread kept under `output_id`, or None (also for other threads' ids)."""
        key = self._key(output_id)
        row = await self.db.run(lambda s: s.get(ToolOutputRow, key))
        return row.content if row is not None else None
