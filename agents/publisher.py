"""The `Publisher` port and the publishers that need no Slack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol, TypeVar

from agents.events import RunEvent

log = logging.getLogger(__name__)

E = TypeVar("E")


class Publisher(Protocol):
    """Receives every event of every run; must not block for long."""

    async def publish(self, event: RunEvent) -> None:
        """Handle one event."""


class NullPublisher:
    """Drops every event."""

    async def publish(self, event: RunEvent) -> None:
        """Ignore the event."""


class RecordingPublisher:
    """Keeps every event in order; tests read and await them."""

    def __init__(self) -> None:
        self.events: list[RunEvent] = []
        self._changed = asyncio.Condition()

    async def publish(self, event: RunEvent) -> None:
        """Record the event and wake whoever waits for one."""
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type[E], run_id: str | None = None) -> list[E]:
        """The recorded events of one type (of one run, when given)."""
        return [
            e
            for e in self.events
            if isinstance(e, kind) and (run_id is None or getattr(e, "run_id", None) == run_id)
        ]

    async def wait_for(self, kind: type[E], run_id: str | None = None, count: int = 1) -> list[E]:
        """Wait until at least `count` events of a type were recorded; return them."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.of(kind, run_id)) >= count)
            return self.of(kind, run_id)


class FanoutPublisher:
    """Sends each event to several publishers; one failing does not stop the others."""

    def __init__(self, publishers: Iterable[Publisher]) -> None:
        self.publishers = list(publishers)

    async def publish(self, event: RunEvent) -> None:
        """Publish to each in turn."""
        for publisher in self.publishers:
            await safe_publish(publisher, event)


async def safe_publish(publisher: Publisher, event: RunEvent) -> None:
    """Publish, logging (never raising) a publisher failure: the run must not die of it."""
    try:
        await publisher.publish(event)
    except Exception:
        log.exception("publisher %s failed on %s", type(publisher).__name__, event.kind)
