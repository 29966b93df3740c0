"""The alert desk: delivers what the webhook recorded (alert_groups' outbox) to Slack.

For each group with an undelivered change, under a lease (so replicas never deliver one group
twice at once): a new firing episode gets its card posted (the card starts the thread) and
its investigation enqueued; a change in the same episode updates the card; a resolved group
updates the card and says so in the thread; a flapping group is told in its last thread.
Exactly once per episode: the card carries message metadata naming group and episode, and a
card whose post may have happened before a crash is looked up before posting again; the run
id is the card's ts, so enqueueing it twice starts it once (agents/service.start_turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError

from agents import alert_groups, runtime, service, session_expiry
from agents.alert_groups import AlertGroup
from agents.alert_payload import AlertNotification, investigation_text
from bot.alerts.card import alert_card, card_metadata, is_card_of
from bot.deps import BotDeps
from core import faults
from core.settings import Settings
from core.types import IncomingMessage, ThreadRef

log = logging.getLogger(__name__)

POLL_S = 5.0
"""How often due groups are looked for without a wake (other replicas' records, retries)."""
LEASE_S = 60.0
MAX_RETRY_DELAY_S = 300.0
UNREACHABLE_CHANNEL = frozenset({"channel_not_found", "not_in_channel"})
"""Slack errors after which no card of the bot can be in that channel."""
HINTS = {
    "channel_not_found": ": no such channel; check OPSBOT_ALERT_CHANNEL and OPSBOT_ALERT_ROUTES",
    "not_in_channel": ": the bot is not a member; invite it to the channel",
    "is_archived": ": the channel is archived; unarchive it or route alerts elsewhere",
}
"""What a person does about a delivery error, appended to its log line."""
HISTORY_LOOKBACK = 200
"""Messages of the channel searched for a card whose post may have happened before a crash."""


def alert_channel(settings: Settings, notification: AlertNotification) -> str:
    """The channel of OPSBOT_ALERT_ROUTES whose `label=value` the group's common labels have
    (first match), else OPSBOT_ALERT_CHANNEL. Raises ValueError when neither is set."""
    for route in settings.alert_routes:
        matcher, _, channel = route.rpartition(":")
        label, _, value = matcher.partition("=")
        if notification.common_labels.get(label) == value:
            return channel
    if not settings.alert_channel:
        raise ValueError("OPSBOT_ALERT_CHANNEL is not set")
    return settings.alert_channel


def retry_delay_s(attempts: int) -> float:
    """Seconds before the next delivery attempt after `attempts` failed ones."""
    return float(min(MAX_RETRY_DELAY_S, 2 ** min(attempts, 10)))


class AlertDesk:
    """Runs in the bot process; `wake()` after each recorded notification."""

    def __init__(self, deps: BotDeps, owner: str) -> None:
        self.deps = deps
        self.owner = owner
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start delivering in the background (what was left undelivered first)."""
        self._task = asyncio.create_task(self._loop(), name="alert-desk")

    async def close(self) -> None:
        """Stop delivering (a delivery cut short is due again after its lease)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        """Look for due groups now."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:  # the database or Slack: try again at the next poll
                log.exception("alert delivery failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)

    async def deliver_due(self) -> int:
        """Deliver every due group once; how many were delivered."""
        db = runtime.current_engine().db
        delivered = 0
        while ids := await db.run(lambda s: alert_groups.due(s, time.time(), self.owner)):
            progressed = 0
            for gid in ids:
                if await self.deliver(gid):
                    progressed += 1
            delivered += progressed
            if not progressed:
                break
        return delivered

    async def deliver(self, gid: str) -> bool:
        """Claim and deliver one group; False when another worker has it or it failed."""
        db = runtime.current_engine().db
        group = await db.run(lambda s: alert_groups.claim(s, gid, self.owner, time.time(), LEASE_S))
        if group is None:
            return False
        try:
            await self._deliver(group)
        except Exception as error:
            delay, why = retry_delay_s(group.attempts), _why(error)
            name, channel = self._where(group)
            log.warning("alert %s (group %s): delivery to channel %s failed (%s%s); attempt %d, "
                        "retrying in %.0f s", name, gid, channel, why, HINTS.get(why, ""),
                        group.attempts + 1, delay)  # fmt: skip
            retry_at = time.time() + delay
            await db.run(lambda s: alert_groups.fail(s, gid, self.owner, why, retry_at))
            return False
        await db.run(lambda s: alert_groups.finish(s, gid, self.owner, group.version))
        return True

    def _where(self, group: AlertGroup) -> tuple[str, str]:
        """(alert name, channel) of a group for a log line; "?" for what cannot be told."""
        try:
            notification = AlertNotification.model_validate(group.notification)
        except ValueError:
            return "?", group.channel or "?"
        try:
            channel = group.channel or alert_channel(self.deps.settings, notification)
        except ValueError:
            channel = "?"
        return notification.alertname(), channel

    async def _deliver(self, group: AlertGroup) -> None:
        notification = AlertNotification.model_validate(group.notification)
        if group.card_episode != group.episode and (group.investigate or group.thread_ts is None):
            group = await self._open_thread(group, notification)
        elif group.card_episode != group.episode:
            group = await self._fired_again(group, notification)
        else:
            await self._update_card(group, notification)
            if group.status == "resolved":
                await self._say(group, f"Resolved: {len(notification.alerts)} alert(s) of this "
                                "group resolved (Alertmanager).")  # fmt: skip
                await self._close_session(group)
        if group.status == "firing" and group.investigate and group.run_episode < group.episode:
            await self._investigate(group, notification)

    async def _close_session(self, group: AlertGroup) -> None:
        """The incident is over: its thread's agent session is `closed`, unless a run there
        still works or waits (the idle sweep, bot/session_expiry.py, closes it later)."""
        if self.deps.sessions is None or not group.channel or not group.thread_ts:
            return
        thread_id = f"{self.deps.team}:{group.channel}:{group.thread_ts}"
        if await session_expiry.claim_closing_now(thread_id, time.time()):
            self.deps.sessions.want(group.channel, group.thread_ts, "closed", thread_id=thread_id)

    async def _open_thread(self, group: AlertGroup, notification: AlertNotification) -> AlertGroup:
        db = runtime.current_engine().db
        channel = alert_channel(self.deps.settings, notification)
        ts = None
        if group.card_episode == -group.episode and group.channel:
            ts = await self._find_card(group.channel, group)
            channel = group.channel if ts is not None else channel
        if ts is None:  # the card goes where the settings route it now (they may be fixed)
            await db.run(lambda s: alert_groups.mark_card_intent(s, group.id, group.episode,
                                                                 channel))  # fmt: skip
            text, blocks = alert_card(notification, self.deps.redactor, episode=group.episode,
                                      updated_at=time.time())  # fmt: skip
            posted = await self.deps.writer.call(
                "chat.postMessage", channel=channel, text=text, blocks=blocks,
                metadata=card_metadata(group.id, group.episode),
            )  # fmt: skip
            ts, channel = str(posted["ts"]), str(posted.get("channel") or channel)
            faults.point("after_alert_card")
        found_ts, found_channel = ts, channel
        await db.run(lambda s: alert_groups.record_card(s, group.id, group.episode,
                                                        found_channel, found_ts))  # fmt: skip
        return replace(group, channel=channel, thread_ts=ts, card_episode=group.episode)

    async def _find_card(self, channel: str, group: AlertGroup) -> str | None:
        """The ts of the group's card of this episode in `channel`; None when it is not
        there, or the bot cannot read or post there (so the card was never posted)."""
        try:
            history = await self.deps.writer.call(
                "conversations.history", channel=channel, limit=HISTORY_LOOKBACK,
                include_all_metadata=True,
            )  # fmt: skip
        except SlackApiError as error:
            if _why(error) in UNREACHABLE_CHANNEL:
                return None
            raise
        for message in history.get("messages") or []:
            if isinstance(message, dict) and is_card_of(message, group.id, group.episode):
                return str(message["ts"])
        return None

    async def _fired_again(self, group: AlertGroup, notification: AlertNotification) -> AlertGroup:
        settings = self.deps.settings
        note = (f"Fired again (episode {group.episode}): this group started firing more than "
                f"{settings.alert_flap_limit} times within {settings.alert_flap_window_s / 60:.0f}"
                " min, so opsbot does not investigate it again. Mention @opsbot here to look "
                "again.")  # fmt: skip
        await self._update_card(group, notification, note)
        await self._say(group, note)
        db = runtime.current_engine().db
        channel, ts = group.channel or "", group.thread_ts or ""
        await db.run(lambda s: alert_groups.record_card(s, group.id, group.episode, channel, ts))
        return replace(group, card_episode=group.episode)

    async def _update_card(
        self, group: AlertGroup, notification: AlertNotification, note: str = ""
    ) -> None:
        text, blocks = alert_card(notification, self.deps.redactor, episode=group.episode,
                                  updated_at=time.time(), note=note)  # fmt: skip
        await self.deps.writer.call("chat.update", channel=group.channel, ts=group.thread_ts,
                                    text=text, blocks=blocks)  # fmt: skip

    async def _say(self, group: AlertGroup, text: str) -> None:
        await self.deps.writer.call("chat.postMessage", channel=group.channel,
                                    thread_ts=group.thread_ts, text=text)  # fmt: skip

    async def _investigate(self, group: AlertGroup, notification: AlertNotification) -> None:
        assert group.channel is not None
        assert group.thread_ts is not None
        thread = ThreadRef(team=self.deps.team, channel=group.channel, thread_ts=group.thread_ts)
        text = self.deps.redactor.redact(investigation_text(notification))
        await service.start_turn(thread, IncomingMessage(ts=group.thread_ts, text=text))
        db = runtime.current_engine().db
        await db.run(lambda s: alert_groups.record_run(s, group.id, group.episode))


def _why(error: BaseException) -> str:
    response: Any = getattr(error, "response", None)
    code = response.get("error") if isinstance(response, dict) or hasattr(response, "get") else None
    return str(code or error or type(error).__name__)
