"""Agent sessions: `agents.sessions.setStatus` / `agents.sessions.rename` and the Stop button.

As docs.slack.dev/reference/methods/agents.sessions.setStatus describes them: a session is a
thread (`channel_id` + `thread_ts`), created by its first setStatus; `status` is one of
`processing`, `active`, `suspended`, `closed`; `title` and `initiator_user_id` are optional.
The status changes only when the app sets it: with setStatus, or by stopping a stream of the
thread (chat.stopStream's `session_status`, `active` unless given). A person's Stop (shown
while `processing`) only sends the app `agent_session_stopped` (`channel`, `thread_ts`, `user`,
`streaming_message_ts[]`).

Refusals, as Slack words them: a required argument missing, a status outside the four or a
title that is not a string → `invalid_arguments`; an unknown channel → `channel_not_found`;
a thread that is not there → `thread_not_found`; an unknown initiator → `user_not_found`; a
title longer than `TITLE_MAX` characters or empty on rename → `invalid_arguments`; renaming
a session never set → `session_not_found`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.slack import payloads
from sandbox.slack.api_base import ApiBase, Args
from sandbox.slack.delivery import Delivery
from sandbox.slack.limits import ApiError

STATUSES = ("processing", "active", "suspended", "closed")
TITLE_MAX = 255
"""The longest title the workspace keeps (a thread list entry)."""


@dataclass
class Session:
    """One thread's agent session as the workspace keeps it."""

    channel: str
    thread_ts: str
    status: str
    title: str = ""
    initiator: str | None = None
    history: list[str] = field(default_factory=list)
    """Every status set, in order (the page shows the newest; tests read them all)."""
    stopped_by: list[str] = field(default_factory=list)

    def as_page(self) -> dict[str, Any]:
        """What the page shows above the thread: status, title, whether Stop is offered."""
        return {"status": self.status, "title": self.title, "initiator": self.initiator,
                "stoppable": self.status == "processing"}  # fmt: skip


@dataclass
class SessionMethods(ApiBase):
    """The two methods, over a session per (channel, thread_ts)."""

    sessions: dict[tuple[str, str], Session] = field(default_factory=dict)

    def _session_place(self, args: Args) -> tuple[str, str]:
        if not args.get("channel_id"):
            raise ApiError("invalid_arguments", detail="channel_id is required")
        channel = self.channel(args, "channel_id")
        thread_ts = str(args.get("thread_ts") or "")
        if not thread_ts:
            raise ApiError("invalid_arguments", detail="thread_ts is required in a channel")
        if thread_ts not in channel.messages:
            raise ApiError("thread_not_found")
        return channel.id, thread_ts

    def _stream_stopped(self, channel: str, thread_ts: str | None, status: str) -> None:
        """chat.stopStream sets the status of the thread's session (when it has one)."""
        session = self.sessions.get((channel, thread_ts or ""))
        if session is not None:
            session.status = status
            session.history.append(status)

    def _title(self, args: Args, *, required: bool) -> str | None:
        if "title" not in args:
            if required:
                raise ApiError("invalid_arguments", detail="title is required")
            return None
        if args["title"] is not None and not isinstance(args["title"], str):
            raise ApiError("invalid_arguments", detail="title must be a string")
        title = str(args.get("title") or "").strip()
        if required and not title:
            raise ApiError("invalid_arguments", detail="title must not be empty")
        if len(title) > TITLE_MAX:
            raise ApiError("invalid_arguments", detail=f"title is longer than {TITLE_MAX}")
        return title

    async def agents_sessions_set_status(self, args: Args) -> Args:
        """Set (creating if needed) a thread's session status."""
        status = str(args.get("status") or "")
        if status not in STATUSES:
            raise ApiError("invalid_arguments", detail=f"status must be one of {STATUSES}")
        channel, thread_ts = self._session_place(args)
        title = self._title(args, required=False)
        initiator = args.get("initiator_user_id")
        if initiator is not None and str(initiator) not in self.workspace.users:
            raise ApiError("user_not_found")
        session = self.sessions.setdefault((channel, thread_ts),
                                           Session(channel, thread_ts, status))  # fmt: skip
        session.status = status
        session.history.append(status)
        if title is not None:
            session.title = title
        if initiator is not None:
            session.initiator = str(initiator)
        return {"agent_status": session.status, "title": session.title}

    async def agents_sessions_rename(self, args: Args) -> Args:
        """Change the title of a session that exists."""
        channel, thread_ts = self._session_place(args)
        title = self._title(args, required=True)
        session = self.sessions.get((channel, thread_ts))
        if session is None:
            raise ApiError("session_not_found")
        session.title = title or session.title
        return {"title": session.title}

    def session_view(self, channel: str, thread_ts: str | None) -> dict[str, Any] | None:
        """The open thread's session for the page (`Session.as_page`), or None."""
        found = self.sessions.get((channel, thread_ts or ""))
        return found.as_page() if found is not None else None

    def session_methods(self) -> dict[str, Any]:
        """The methods by their Slack names."""
        return {"agents.sessions.setStatus": self.agents_sessions_set_status,
                "agents.sessions.rename": self.agents_sessions_rename}  # fmt: skip

    def stopped_event(self, user: str, channel: str, thread_ts: str) -> dict[str, Any]:
        """A person pressed Stop on a session that is `processing`: the event the app gets.

        Raises `user_not_found`, `channel_not_found`, `session_not_found`, or
        `session_not_processing` (Slack shows Stop only while the session processes).
        """
        if user not in self.workspace.users:
            raise ApiError("user_not_found")
        found = self.channel({"channel": channel})
        session = self.sessions.get((found.id, thread_ts))
        if session is None:
            raise ApiError("session_not_found")
        if session.status != "processing":
            raise ApiError("session_not_processing")
        session.stopped_by.append(user)
        streaming = [m.ts for m in self.workspace.thread(found.id, thread_ts) if m.streaming]
        return {"type": "agent_session_stopped", "channel": found.id, "thread_ts": thread_ts,
                "user": user, "streaming_message_ts": streaming,
                "event_ts": self.workspace.new_ts()}  # fmt: skip


def deliver_stop(
    api: SessionMethods, delivery: Delivery, user: str, channel: str, thread_ts: str
) -> None:
    """Press Stop as `user`: the app gets `agent_session_stopped` as an Events API callback."""
    event = api.stopped_event(user, channel, thread_ts)
    delivery.event(payloads.event_callback(api.workspace, event))
