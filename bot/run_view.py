"""One run's place in Slack as the renderer keeps it, and how it is rebuilt after a restart.

Everything a write needs is here or in the database: the thread (from the run's id, keyed
by the installation's team), the person who asked (`recipient_user_id` of a channel stream)
and their own team (`recipient_team_id`: a Slack Connect partner's organisation; the
installation's when the run does not know it), the live message's ts
(agents/live_messages.py), the approval cards' ts (the approval rows). Nothing a process
holds only in memory is needed after a restart. Field by field, for a view rebuilt after one:

- `shown` (what the thread shows of the run, so the final message repeats none of it): read
  back from the bot's messages in the thread (bot/shown_text.py).
- `cards`: the card rows, and the card's blocks as Slack has them (conversations.replies).
- `live_ts`, `live_text`, `streamed`, `call_start`, `reopen`: the dead process's live message
  was finished at start (bot/leftovers.py); the next text opens a new one, and a model call
  that was under way runs again whole, code fences included.
- `tool_open`: a tool's outcome arriving with no open line gets a line of its own.
- `tasks`: a tool's outcome arriving with no card of this process gets a card of its own.
- `running_cards`: the dead process's stream was finished, its running cards ended
  (bot/leftovers.py); they are not carried.
- `hops`: the plan title of a rebuilt view starts again from the agent it is routed to next.
- `pending`: text written by a finished step but not yet flushed is in the run's answer,
  which the final message completes from `shown`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from core.redact import Redactor


@dataclass
class RunView:
    """One run's place in Slack and its live message."""

    run_id: str
    team: str
    channel: str
    thread_ts: str
    requester: str | None
    requester_team: str | None = None
    """The requester's own team; None when the run does not know it (recorded before it was
    kept, or not started from Slack)."""
    live_ts: str | None = None
    live_text: str = ""
    pending: str = ""
    shown: str = ""
    """Everything of this run the thread shows (written and not withdrawn)."""
    reopen: str = ""
    """A code fence to open the next live message with (the last one closed a block early)."""
    call_start: int = 0
    tool_open: bool = False
    streamed: bool = False
    """The live message in use was opened with chat.startStream (not postMessage)."""
    cards: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)
    """Tool calls shown as task cards of the stream: tool_use id -> the card's title."""
    running_cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The cards Slack last took as `in_progress` and not yet as ended: tool_use id -> that
    chunk (bot/task_cards.py carries them into the next stream)."""
    card_ends: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The ends of running cards that Slack refused when they were sent: tool_use id -> the
    `complete`/`error` chunk, sent again where the card shows next (bot/task_cards.py)."""
    chunk_store: dict[str, tuple[dict[str, Any], str, str]] = field(default_factory=dict)
    """Cards waiting in `pending` as markers (bot/task_chunks.py): key -> (the task_update
    chunk, the text line written instead where it cannot be streamed, and for a finished
    call the end of the line its start wrote, when that start was written as text)."""
    chunk_keys: int = 0
    open_line: str | None = None
    """The tool call whose start was written as a text line that its outcome ends."""
    task_since: dict[str, float] = field(default_factory=dict)
    """When each running tool call's card was queued (time.monotonic()), for its progress."""
    rebuilt: bool = False
    """This process did not start the run: its view was rebuilt from the database."""
    adopted: bool = False
    """The live message was opened by another process (bot/task_cards.py `adopt`): its text
    is not known here, so it is never rewritten with chat.update."""
    closed: bool = False
    """Another process ended the run and its stream (bot/task_cards.py `close`): nothing more
    of the run is written here."""
    hops: list[str] = field(default_factory=list)
    """The agents the run was routed to, in order (the stream's plan title)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    flusher: asyncio.Task[None] | None = None
    redactor: Redactor = field(default_factory=Redactor)
    """The run's own redactor: what it remembers of one run's secrets stays with that run."""

    @property
    def thread_key(self) -> tuple[str, str]:
        """(channel, thread ts): the thread this run writes to."""
        return self.channel, self.thread_ts

    @property
    def recipient_team(self) -> str:
        """chat.startStream's `recipient_team_id`: "the ID of the team that is associated with
        recipient_user_id" (docs.slack.dev/reference/methods/chat.startStream), so the
        requester's own team; the installation's when that is not known."""
        return self.requester_team or self.team

    @property
    def can_stream(self) -> bool:
        """Slack streams into a channel only to a named person of a named team
        (chat.startStream: `recipient_user_id`, `recipient_team_id`); a DM needs neither."""
        return self.channel.startswith("D") or bool(self.requester and self.recipient_team)


def new_view(
    run_id: str, thread_id: str, requester: str | None, redactor: Redactor,
    requester_team: str | None = None,
) -> RunView:  # fmt: skip
    """The view of a run of the Slack thread `team:channel:thread_ts` (`team`: the
    installation's), asked by `requester` of `requester_team` (None: not known)."""
    team, channel, thread_ts = thread_id.split(":", 2)
    return RunView(run_id=run_id, team=team, channel=channel, thread_ts=thread_ts,
                   requester=requester, requester_team=requester_team or None,
                   redactor=redactor)  # fmt: skip
