"""Each thread opsbot works in as a Slack agent session: its status follows the run.

A `Publisher` next to the renderer (bot/serve.py fans events out to both). Statuses, per
docs.slack.dev/reference/methods/agents.sessions.setStatus (slack-sdk 3.48
`agents_sessions_setStatus`; Tier 3, paced by bot/writer.py):

- `processing` while a run works (RunStarted, RunResumed, ApprovalResolved),
  (a run resumed after a restart while it waits for a decision is `suspended` again),
- `suspended` while it waits for a person's decision (ApprovalRequested),
- `active` when it is done (RunFinished) or was stopped (bot/listeners/sessions.py).

- `closed` once the thread has been idle for OPSBOT_SESSION_CLOSE_AFTER_S (bot/session_expiry.py)
  or its alert group resolved (bot/alerts/desk.py).

The first call of a thread
carries its title (the opening message's first line) and the requester as
`initiator_user_id`. Calls go out in the background, one thread at a time and only the newest
wanted status, so a run never waits for Slack here. A workspace that does not offer sessions
(`not_allowed`, `missing_scope`, `unknown_method`, ...) is logged once; the process then never
calls again, and runs are unaffected. A call refused for its title or initiator (a partner's
user Slack does not know, `user_not_found`; `invalid_arguments`) is sent again without them,
and Slack's own trouble (`internal_error`, a dropped connection) is retried a few times, so a
finished thread is not left `processing` with a Stop button.

Several bot processes share one database, and their calls reach Slack in no guaranteed order:
a sweep's `closed` can land after the `processing` of a run another process started in the
thread since the sweep claimed it. So after each status it sends, a process reads the status
the database implies for the thread (agents/session_expiry.implied_status) and, unless a newer
status was wanted here meanwhile, sends that one instead, until what it sent matches. Every
change of a thread's runs (or its close claim) is written before its process sends the status
it implies, so whichever call reaches Slack last was followed by a read that saw the last
change: the thread converges on its true status.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError

from agents import live_messages, session_expiry
from agents.events import (
    ApprovalRequested,
    ApprovalResolved,
    RunEvent,
    RunFinished,
    RunResumed,
    RunStarted,
)
from bot.writer import SlackWriter

log = logging.getLogger(__name__)

METHOD = "agents.sessions.setStatus"
TITLE_MAX = 80
"""Characters of a session title: a thread list entry, not the whole incident."""
UNAVAILABLE = frozenset({
    "not_allowed", "missing_scope", "unknown_method", "not_supported", "feature_not_enabled",
    "not_allowed_token_type", "method_deprecated", "no_permission", "team_access_not_granted",
})  # fmt: skip
"""Answers that mean this workspace (or this app's install) offers no agent sessions."""
TRANSIENT = frozenset({
    "internal_error", "fatal_error", "ratelimited", "service_unavailable", "request_timeout",
})  # fmt: skip
"""Answers worth asking again: Slack's own trouble, not the call's arguments."""
RETRIES = 3
RETRY_S = 1.0
"""A transient failure is tried again after 1, 2, then 4 seconds (in the background)."""
_MENTION = re.compile(r"<[@!][^>]*>|(?<!\w)[@\uff20](?:channel|here|everyone)\b", re.IGNORECASE)
"""Mentions as Slack sends them (`<@U…>`, `<!here>`) and broadcasts as an incoming message's
text reads once made plain (`@channel`, the full-width at sign (U+FF20) of bot/safe_text.py)."""


def session_title(text: str) -> str:
    """The first non-empty line of `text` without mentions or broadcasts, at most `TITLE_MAX`
    characters (cut at a word, with an ellipsis); "" when nothing is left. The text is the
    run's incoming message, whose secrets the inbound side has already redacted."""
    for line in _MENTION.sub("", text).splitlines():
        words = " ".join(line.split())
        if words:
            if len(words) <= TITLE_MAX:
                return words
            return words[: TITLE_MAX - 1].rsplit(" ", 1)[0].rstrip() + "…"
    return ""


@dataclass
class _Session:
    """One thread's session as this process knows it."""

    channel: str
    thread_ts: str
    thread_id: str = ""
    """`team:channel:thread_ts`, the database's id of the thread; "" while unknown (no check)."""
    title: str = ""
    initiator: str | None = None
    wanted: str | None = None
    sent: str | None = None
    titled: bool = False
    unchecked: bool = False
    """`sent` went out and the database was not read since."""
    worker: asyncio.Task[None] | None = None


@dataclass
class SessionStatus:
    """Sets each Slack thread's agent session status from its runs' events."""

    writer: SlackWriter
    available: bool = True
    """False once Slack said this workspace has no agent sessions: never called again."""
    _sessions: dict[tuple[str, str], _Session] = field(default_factory=dict)
    _runs: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Each run's (channel, thread_ts, thread_id)."""

    async def publish(self, event: RunEvent) -> None:
        """Turn a run event into the status its thread should show."""
        if not self.available:
            return
        if isinstance(event, RunStarted):
            self._started(event)
            return
        if isinstance(event, RunResumed | ApprovalRequested | ApprovalResolved | RunFinished):
            place = self._runs.get(event.run_id) or await self._recovered(event.run_id)
            if place is None:
                return
            channel, thread_ts, thread_id = place
            if isinstance(event, ApprovalRequested):
                wanted = "suspended"
            elif isinstance(event, RunResumed):
                found = await live_messages.run_place(event.run_id)
                wanted = "suspended" if found is not None and found.waiting else "processing"
            elif isinstance(event, RunFinished):
                self._runs.pop(event.run_id, None)
                wanted = "active"
            else:
                wanted = "processing"
            self.want(channel, thread_ts, wanted, thread_id=thread_id)

    def stopped(self, channel: str, thread_ts: str) -> None:
        """The thread's run was stopped: the session leaves `processing` (to `active`)."""
        for run_id, key in list(self._runs.items()):
            if key[:2] == (channel, thread_ts):
                self._runs.pop(run_id)
        self.want(channel, thread_ts, "active")

    def want(
        self, channel: str, thread_ts: str, status: str, *, title: str = "",
        initiator: str | None = None, thread_id: str = "",
    ) -> None:  # fmt: skip
        """Ask for `status` on the thread's session; sent in the background (newest wins).
        With `thread_id` (`team:channel:thread_ts`), or once a run of the thread told it, each
        status sent is checked against the database afterwards and corrected (see above)."""
        if not self.available:
            return
        session = self._sessions.setdefault((channel, thread_ts), _Session(channel, thread_ts))
        session.thread_id = session.thread_id or thread_id
        session.title = session.title or title
        session.initiator = session.initiator or initiator
        session.wanted = status
        if session.worker is None or session.worker.done():
            session.worker = asyncio.ensure_future(self._drain(session))

    async def settled(self) -> None:
        """Wait until every wanted status was sent (or refused)."""
        while busy := [
            s.worker for s in self._sessions.values() if s.worker and not s.worker.done()
        ]:
            await asyncio.gather(*busy, return_exceptions=True)

    async def close(self) -> None:
        """Cancel what is still waiting to be sent (a status is only a hint; Slack keeps the
        last one sent)."""
        for session in self._sessions.values():
            if session.worker is not None:
                session.worker.cancel()

    def _started(self, event: RunStarted) -> None:
        team, _, rest = event.thread_id.partition(":")
        if team == "local" or ":" not in rest:
            return  # a terminal run (`opsbot ask`): no Slack thread
        channel, thread_ts = rest.split(":", 1)
        self._runs[event.run_id] = (channel, thread_ts, event.thread_id)
        opening = event.run_id.rsplit(":", 1)[-1] == thread_ts
        self.want(channel, thread_ts, "processing",
                  title=session_title(event.text) if opening else "",
                  initiator=event.requester, thread_id=event.thread_id)  # fmt: skip

    async def _recovered(self, run_id: str) -> tuple[str, str, str] | None:
        """The thread of a run this process did not start (resumed after a restart)."""
        place = await live_messages.run_place(run_id)
        if place is None:
            return None
        team, _, rest = place.thread_id.partition(":")
        if team == "local" or ":" not in rest:
            return None
        channel, thread_ts = rest.split(":", 1)
        self._runs[run_id] = (channel, thread_ts, place.thread_id)
        return channel, thread_ts, place.thread_id

    async def _drain(self, session: _Session) -> None:
        failures = 0
        while self.available and session.wanted is not None:
            if session.wanted == session.sent:
                if session.unchecked and await self._corrected(session):
                    continue
                break
            status = session.wanted
            outcome = await self._set(session, status)
            if outcome == "sent":
                session.sent, failures = status, 0
                session.unchecked = bool(session.thread_id)
            elif outcome == "again" and failures < RETRIES:
                await asyncio.sleep(RETRY_S * 2**failures)
                failures += 1
            elif outcome != "unlabelled":
                return
        if session.sent == "closed" and session.wanted == "closed" and not session.unchecked:
            self._sessions.pop((session.channel, session.thread_ts), None)

    async def _corrected(self, session: _Session) -> bool:
        """Read the status the database implies after `session.sent` went out; True when
        something is to be sent again (the database's status, or a status wanted here while
        it was read). A failed read is logged and ends the check: the status is only a hint."""
        sent = session.sent
        try:
            implied = await session_expiry.implied_status(session.thread_id)
        except Exception as error:  # the database away for a moment: keep what was sent
            log.warning("reading the session status of %s failed: %s", session.thread_id, error)
            implied = None
        if session.wanted != sent:
            return True  # a newer status was wanted here meanwhile: it goes out, then is checked
        session.unchecked = False
        if implied is None or implied == sent:
            return False
        log.info("session of %s set %s, but its runs say %s (another process's call came "
                 "first): setting %s", session.thread_id, sent, implied, implied)  # fmt: skip
        session.wanted = implied
        return True

    async def _set(self, session: _Session, status: str) -> str:
        """One call: "sent"; "unlabelled" (refused with the title or initiator: they are
        dropped, the status matters more); "again" (Slack's trouble or the network's);
        "refused" (anything else: the thread is gone, the workspace has no sessions)."""
        arguments: dict[str, str] = {"channel_id": session.channel,
                                     "thread_ts": session.thread_ts, "status": status}  # fmt: skip
        if not session.titled and session.title:
            arguments["title"] = session.title
        if not session.titled and session.initiator:
            arguments["initiator_user_id"] = session.initiator
        labelled = "title" in arguments or "initiator_user_id" in arguments
        try:
            await self.writer.call(METHOD, **arguments)
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            if code in UNAVAILABLE:
                self.available = False
                log.warning("agent sessions are not available in this workspace (%s answered "
                            "%s): thread statuses and the Stop button are off for this process",
                            METHOD, code)  # fmt: skip
                return "refused"
            log.warning("%s %s on %s failed: %s", METHOD, status, session.thread_ts, code)
            if code in TRANSIENT:
                return "again"
            if labelled:
                session.titled = True  # asked again without the title and initiator
                return "unlabelled"
            return "refused"
        except Exception as error:  # the network: a status must never hurt the run
            log.warning("%s %s on %s failed: %s", METHOD, status, session.thread_ts, error)
            return "again"
        session.titled = True
        return "sent"
