"""Alert groups in the database: what each Alertmanager notification changes, and the outbox
the alert desk delivers from.

A *firing episode* of a group starts with a firing notification after none (or after a
resolved one) and ends with a resolved notification. Each episode opens at most one thread
and one investigation; an episode that starts more than `flap_limit` times within
`flap_window_s` is told in the last thread instead. Repeats and retries (the same alerts in
the same states, `AlertNotification.content_hash`) change nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agents.alert_payload import AlertNotification
from core.models import AlertGroupRow

MAX_EPISODE_STARTS = 20


class Action(StrEnum):
    """What one notification did to its group."""

    NEW_EPISODE = "new_episode"
    UPDATED = "updated"
    RESOLVED = "resolved"
    REPEAT = "repeat"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Accepted:
    """The outcome of `accept`: the action, the group id and its episode (0: none yet)."""

    action: Action
    group_id: str
    episode: int
    investigate: bool


@dataclass(frozen=True)
class AlertGroup:
    """A snapshot of one group as the desk delivers it (see `AlertGroupRow`)."""

    id: str
    episode: int
    status: str
    investigate: bool
    channel: str | None
    thread_ts: str | None
    card_episode: int
    run_episode: int
    notification: dict[str, Any]
    version: int
    attempts: int


def group_id(receiver: str, group_key: str) -> str:
    """The row id of a group: Alertmanager's `groupKey` is unique per receiver, and long."""
    return hashlib.sha256(f"{receiver}\x00{group_key}".encode()).hexdigest()[:40]


def accept(
    session: Session, notification: AlertNotification, *, now: float, flap_limit: int,
    flap_window_s: float,
) -> Accepted:  # fmt: skip
    """Record `notification` on its group (in the caller's transaction) and say what it did.

    Raises sqlalchemy's IntegrityError when another transaction created the same group at the
    same time (the caller retries once).
    """
    gid = group_id(notification.receiver, notification.group_key)
    row = session.execute(
        select(AlertGroupRow).where(AlertGroupRow.id == gid).with_for_update()
    ).scalar_one_or_none()
    digest = notification.content_hash()
    payload = notification.model_dump(mode="json", by_alias=True)
    firing = notification.status == "firing"
    previous: dict[str, Any] = dict(row.notification) if row is not None else {}
    if row is None:
        row = AlertGroupRow(
            id=gid, receiver=notification.receiver, group_key=notification.group_key, episode=0,
            status="resolved", investigate=True, episode_starts=[], card_episode=0,
            run_episode=0, notification=payload, content_hash="", version=0,
            delivered_version=0, lease_until=0.0, attempts=0, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(row)
        if not firing:  # remembered, so its late firing (an HA peer's) is known as stale
            row.content_hash = digest
            return Accepted(Action.IGNORED, gid, 0, False)
    if row.content_hash == digest:
        return Accepted(Action.REPEAT, gid, row.episode, row.investigate)
    stale = firing and row.status != "firing" and _resolved_before(notification, previous)
    if stale and row.episode == 0:
        return Accepted(Action.IGNORED, gid, 0, False)  # it resolved before it was ever shown
    if firing and row.status != "firing" and not stale:
        starts = [t for t in row.episode_starts if t > now - flap_window_s] + [now]
        row.episode += 1
        row.episode_starts = starts[-MAX_EPISODE_STARTS:]
        row.investigate = len(starts) <= flap_limit or row.thread_ts is None
        action = Action.NEW_EPISODE
    elif not firing and row.status != "firing":
        row.content_hash = digest  # a late resolved re-send: nothing to show
        return Accepted(Action.REPEAT, gid, row.episode, row.investigate)
    else:
        action = Action.UPDATED if firing else Action.RESOLVED
    row.status = notification.status
    row.notification = payload
    row.content_hash = digest
    row.version += 1
    row.attempts = 0
    row.updated_at = now
    return Accepted(action, gid, row.episode, row.investigate)


def _resolved_before(notification: AlertNotification, previous: dict[str, Any]) -> bool:
    """Whether every firing alert of `notification` is one the group's last notification
    resolved (same fingerprint and start): a late send of the old state, not a new episode
    (a re-fire starts anew in Prometheus, with a new `startsAt`). It is shown on the card as
    firing again, but opens no thread of its own."""
    resolved = {
        (alert.get("fingerprint"), alert.get("startsAt"))
        for alert in previous.get("alerts") or []
        if isinstance(alert, dict)
        and alert.get("status") == "resolved"
        and alert.get("fingerprint")
    }
    firing = notification.firing()
    return bool(firing) and all((a.fingerprint, a.starts_at) in resolved for a in firing)


def due(session: Session, now: float, owner: str, limit: int = 20) -> list[str]:
    """Groups with something undelivered and no live lease of another worker (a lease of
    `owner` is its own earlier life's, cut short by a crash), oldest change first."""
    return list(
        session.scalars(
            select(AlertGroupRow.id)
            .where(AlertGroupRow.delivered_version < AlertGroupRow.version)
            .where((AlertGroupRow.lease_until < now) | (AlertGroupRow.lease_owner == owner))
            .order_by(AlertGroupRow.updated_at)
            .limit(limit)
        )
    )


def claim(session: Session, gid: str, owner: str, now: float, lease_s: float) -> AlertGroup | None:
    """Lease `gid` to `owner` for `lease_s` seconds (compare-and-set); its snapshot, or None
    when another worker holds it or nothing is left to deliver."""
    taken = session.execute(
        update(AlertGroupRow)
        .where(AlertGroupRow.id == gid)
        .where(AlertGroupRow.delivered_version < AlertGroupRow.version)
        .where((AlertGroupRow.lease_until < now) | (AlertGroupRow.lease_owner == owner))
        .values(lease_owner=owner, lease_until=now + lease_s)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(AlertGroupRow, gid)
    assert row is not None
    return AlertGroup(
        id=row.id, episode=row.episode, status=row.status, investigate=row.investigate,
        channel=row.channel, thread_ts=row.thread_ts, card_episode=row.card_episode,
        run_episode=row.run_episode, notification=dict(row.notification), version=row.version,
        attempts=row.attempts,
    )  # fmt: skip


def mark_card_intent(session: Session, gid: str, episode: int, channel: str) -> None:
    """Before posting the card of `episode`: a later attempt looks for it in Slack first."""
    row = session.get(AlertGroupRow, gid)
    if row is not None:
        row.card_episode, row.channel = -episode, channel


def record_card(session: Session, gid: str, episode: int, channel: str, ts: str) -> None:
    """The card (thread start) of `episode` is `channel`/`ts`."""
    row = session.get(AlertGroupRow, gid)
    if row is not None:
        row.card_episode, row.channel, row.thread_ts = episode, channel, ts


def record_run(session: Session, gid: str, episode: int) -> None:
    """The investigation of `episode` is enqueued."""
    row = session.get(AlertGroupRow, gid)
    if row is not None:
        row.run_episode = max(row.run_episode, episode)


def finish(session: Session, gid: str, owner: str, version: int) -> None:
    """`version` is delivered; the lease ends."""
    row = session.get(AlertGroupRow, gid)
    if row is not None and row.lease_owner == owner:
        row.delivered_version = max(row.delivered_version, version)
        row.lease_owner, row.lease_until, row.last_error = None, 0.0, None


def fail(session: Session, gid: str, owner: str, error: str, retry_at: float) -> None:
    """Delivery failed: keep it due from `retry_at` (epoch seconds), count the attempt."""
    row = session.get(AlertGroupRow, gid)
    if row is not None and row.lease_owner == owner:
        row.lease_owner, row.lease_until = None, retry_at
        row.attempts += 1
        row.last_error = error[:2000]


@dataclass(frozen=True)
class FiringGroup:
    """A group firing now, as `/opsbot status` lists it."""

    alertname: str
    alerts: int
    episode: int
    channel: str | None
    thread_ts: str | None
    since: float
    """Epoch seconds of the episode's start."""


def firing_groups(
    session: Session, channel: str | None = None, limit: int = 20
) -> list[FiringGroup]:
    """Groups firing now (of one channel, when given), newest change first."""
    query = select(AlertGroupRow).where(AlertGroupRow.status == "firing")
    if channel is not None:
        query = query.where(AlertGroupRow.channel == channel)
    rows = session.scalars(query.order_by(AlertGroupRow.updated_at.desc()).limit(limit))
    found = []
    for row in rows:
        payload = AlertNotification.model_validate(row.notification)
        since = row.episode_starts[-1] if row.episode_starts else row.created_at
        found.append(FiringGroup(payload.alertname(), len(payload.firing()), row.episode,
                                 row.channel, row.thread_ts, since))  # fmt: skip
    return found
