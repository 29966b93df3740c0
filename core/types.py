"""Small value types shared by every layer."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Risk(StrEnum):
    """How dangerous a tool call is: `read` runs freely, the others wait for a human."""

    READ = "read"
    WRITE = "write"
    CRITICAL = "critical"


class ThreadRef(BaseModel):
    """Where a conversation lives: team, channel and the thread's root timestamp."""

    model_config = ConfigDict(frozen=True)

    team: str
    channel: str
    thread_ts: str

    @property
    def key(self) -> str:
        """The thread's stable id, also the queue partition key."""
        return f"{self.team}:{self.channel}:{self.thread_ts}"


class IncomingMessage(BaseModel):
    """One message from a person that starts a run."""

    model_config = ConfigDict(frozen=True)

    ts: str
    text: str
    user: str | None = None
    user_team: str | None = None
    """The team of `user` (a Slack Connect partner's own); None when unknown. Runs enqueued
    before the field existed lack it: read it with `getattr(message, "user_team", None)`."""
    origin_trace: str | None = None
    """W3C traceparent of the span that received the message (the Slack listener's)."""

    def run_id(self, thread: ThreadRef) -> str:
        """The workflow id of the run this message starts: `team:channel:message_ts`."""
        return f"{thread.team}:{thread.channel}:{self.ts}"


def fingerprint(name: str, args: dict[str, Any]) -> str:
    """A stable hash of a tool name and its exact arguments (key order does not matter)."""
    canonical = json.dumps([name, args], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
