"""`alert_groups.accept` against a real database (SQLite, and PostgreSQL when configured):
what each notification does to its group's firing episode, repeats, flapping and the flap
window's expiry, and the outbox (`due`, `claim`, `fail`, `finish`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agents import alert_groups
from agents.alert_groups import Accepted, Action
from agents.alert_payload import AlertNotification, parse_notification
from core import migrate
from core.db import make_engine
from core.models import AlertGroupRow
from tests.alerts.notifications import alert, notification

LIMIT = 3
WINDOW_S = 3_600.0
T0 = 1_800_000_000.0


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def send(engine: Engine, body: dict[str, Any], now: float = T0, limit: int = LIMIT) -> Accepted:
    """One notification, in its own transaction, as the webhook records it."""
    parsed = AlertNotification.model_validate(body)
    with Session(engine) as session, session.begin():
        return alert_groups.accept(session, parsed, now=now, flap_limit=limit,
                                   flap_window_s=WINDOW_S)  # fmt: skip


def row(engine: Engine, gid: str) -> AlertGroupRow:
    with Session(engine) as session:
        found = session.get(AlertGroupRow, gid)
        assert found is not None
        session.expunge(found)
        return found


def firing(group: str = "checkout", starts: str = "2026-11-30T14:02:05Z", **kw: Any) -> Any:
    return notification(group, alerts=[alert(starts_at=starts, **kw)])


def resolved(group: str = "checkout", starts: str = "2026-11-30T14:02:05Z") -> Any:
    return notification(group, "resolved", alerts=[alert("resolved", starts_at=starts)])


def flap(engine: Engine, times: int, start: float, step: float) -> list[Accepted]:
    """`times` firing episodes of one group, `step` seconds apart, each resolved between."""
    outcomes = []
    for i in range(times):
        at = start + i * step
        outcomes.append(send(engine, firing(starts=f"2026-11-30T15:{i % 60:02d}:00Z"), at))
        send(engine, resolved(starts=f"2026-11-30T15:{i % 60:02d}:00Z"), at + step / 2)
    return outcomes


def test_a_first_firing_notification_starts_episode_one(engine: Engine) -> None:
    first = send(engine, firing())
    assert (first.action, first.episode, first.investigate) == (Action.NEW_EPISODE, 1, True)
    stored = row(engine, first.group_id)
    assert (stored.status, stored.version, stored.delivered_version) == ("firing", 1, 0)


@pytest.mark.parametrize("body", [firing(), notification(alerts=[alert(), alert("resolved")])])
def test_the_same_notification_again_is_a_repeat_that_changes_nothing(
    engine: Engine, body: dict[str, Any]
) -> None:
    first = send(engine, body)
    for later in (1.0, 600.0, 86_400.0):  # a retry, group_interval, repeat_interval
        again = send(engine, body, T0 + later)
        assert (again.action, again.episode) == (Action.REPEAT, first.episode)
    assert row(engine, first.group_id).version == 1


@pytest.mark.parametrize(
    "changed",
    [notification(alerts=[alert(), alert(instance="checkout-2:9100")]),
     notification(alerts=[alert(), alert("resolved", instance="checkout-2:9100")])],
)  # fmt: skip
def test_a_change_within_the_episode_updates_it(engine: Engine, changed: dict[str, Any]) -> None:
    first = send(engine, notification(alerts=[alert()]))
    update = send(engine, changed, T0 + 60)
    assert (update.action, update.episode) == (Action.UPDATED, 1)
    assert row(engine, first.group_id).version == 2


def test_resolved_ends_the_episode_and_its_repeats_change_nothing(engine: Engine) -> None:
    gid = send(engine, firing()).group_id
    assert send(engine, resolved(), T0 + 60).action == Action.RESOLVED
    assert send(engine, resolved(), T0 + 120).action == Action.REPEAT
    stored = row(engine, gid)
    assert (stored.status, stored.version, stored.episode) == ("resolved", 2, 1)


@pytest.mark.parametrize("body", [resolved(), resolved("payments")])
def test_resolved_for_a_group_never_seen_is_ignored_and_shows_nothing(
    engine: Engine, body: dict[str, Any]
) -> None:
    """It is remembered (its late firing is then known as stale) but nothing is due."""
    outcome = send(engine, body)
    assert (outcome.action, outcome.episode, outcome.investigate) == (Action.IGNORED, 0, False)
    stored = row(engine, outcome.group_id)
    assert (stored.status, stored.episode, stored.version, stored.delivered_version) == (
        "resolved",
        0,
        0,
        0,
    )
    with Session(engine) as session:
        assert alert_groups.due(session, T0 + 1, "w1") == []


def test_firing_again_after_resolved_is_a_new_episode(engine: Engine) -> None:
    send(engine, firing())
    send(engine, resolved(), T0 + 60)
    again = send(engine, firing(starts="2026-11-30T15:00:00Z"), T0 + 120)
    assert (again.action, again.episode, again.investigate) == (Action.NEW_EPISODE, 2, True)


@pytest.mark.parametrize(("receiver", "group_key"), [("a", "k"), ("team-b", '{}:{x="1"}')])
def test_the_same_group_key_for_two_receivers_is_two_groups(
    engine: Engine, receiver: str, group_key: str
) -> None:
    bodies = [notification(receiver=r) | {"groupKey": group_key} for r in (receiver, "other")]
    outcomes = [send(engine, body) for body in bodies]
    assert [o.action for o in outcomes] == [Action.NEW_EPISODE, Action.NEW_EPISODE]
    assert outcomes[0].group_id != outcomes[1].group_id


@pytest.mark.parametrize("limit", [1, 3])
def test_episodes_past_the_flap_limit_in_the_window_are_not_investigated(
    engine: Engine, limit: int
) -> None:
    outcomes = []
    for i in range(limit + 2):
        at = T0 + i * 60
        outcomes.append(send(engine, firing(starts=f"2026-11-30T15:{i:02d}:00Z"), at, limit))
        send(engine, resolved(starts=f"2026-11-30T15:{i:02d}:00Z"), at + 30, limit)
    assert [o.action for o in outcomes] == [Action.NEW_EPISODE] * (limit + 2)
    assert [o.episode for o in outcomes] == list(range(1, limit + 3))
    with Session(engine) as session, session.begin():  # the desk posted episode 1's card
        alert_groups.record_card(session, outcomes[0].group_id, 1, "C1", "1.0")
    late = send(engine, firing(starts="2026-11-30T16:00:00Z"), T0 + 1_000, limit)
    assert [o.investigate for o in outcomes] == [True] * limit + [True, True]
    assert late.investigate is False, "past the limit with a thread: told there, not again"


@pytest.mark.parametrize(
    ("step", "expected"),
    [(WINDOW_S / 4, [True, True, True, False, False]),  # four starts within one window
     (WINDOW_S + 1, [True] * 5)],  # each start alone in its window
)  # fmt: skip
def test_the_flap_window_expires(engine: Engine, step: float, expected: list[bool]) -> None:
    first = send(engine, firing(starts="2026-11-30T15:00:00Z"), T0)
    with Session(engine) as session, session.begin():
        alert_groups.record_card(session, first.group_id, 1, "C1", "1.0")
    outcomes = [first]
    for i in range(1, 5):
        at = T0 + i * step
        send(engine, resolved(starts=f"2026-11-30T15:{i - 1:02d}:00Z"), at - 1)
        outcomes.append(send(engine, firing(starts=f"2026-11-30T15:{i:02d}:00Z"), at))
    assert [o.investigate for o in outcomes] == expected
    later = T0 + 4 * step + WINDOW_S + 1
    send(engine, resolved(starts="2026-11-30T15:04:00Z"), later - 1)
    assert send(engine, firing(starts="2026-11-30T16:00:00Z"), later).investigate, (
        "a window later, the group is investigated again"
    )


def test_a_group_flapping_hundreds_of_times_keeps_a_bounded_history(engine: Engine) -> None:
    outcomes = flap(engine, 60, T0, 10.0)
    assert outcomes[-1].episode == 60
    assert len(row(engine, outcomes[0].group_id).episode_starts) <= alert_groups.MAX_EPISODE_STARTS


@pytest.mark.parametrize("first_resolved", [False, True])
def test_a_late_firing_after_its_resolved_opens_nothing(
    engine: Engine, first_resolved: bool
) -> None:
    """An HA peer's late firing (the same alerts, same fingerprints and starts, that the group
    resolved) opens no new episode: the card shows it firing again, or nothing was shown."""
    if not first_resolved:
        send(engine, firing(), T0)
    send(engine, resolved(), T0 + 60)
    late = send(engine, firing(), T0 + 61)
    if first_resolved:
        assert (late.action, late.episode) == (Action.IGNORED, 0)
    else:
        assert (late.action, late.episode) == (Action.UPDATED, 1)
    send(engine, resolved(), T0 + 90)  # the peer's own resolved follows at its group_interval
    refire = send(engine, firing(starts="2026-11-30T15:00:00Z"), T0 + 120)
    assert (refire.action, refire.episode) == (Action.NEW_EPISODE, 1 if first_resolved else 2)


@pytest.mark.parametrize("field", ["receiver", "groupKey"])
@pytest.mark.parametrize("text", ["a\x00b", "\x00" * 3])
def test_a_nul_character_is_stored_on_every_database(engine: Engine, field: str, text: str) -> None:
    body = firing(pod=text) | {field: text}  # PostgreSQL's text columns refuse U+0000
    parsed = parse_notification(json.dumps(body).encode())
    with Session(engine) as session, session.begin():
        outcome = alert_groups.accept(session, parsed, now=T0, flap_limit=LIMIT,
                                      flap_window_s=WINDOW_S)  # fmt: skip
    assert outcome.action == Action.NEW_EPISODE
    assert row(engine, outcome.group_id).notification[field] == text.replace("\x00", "\ufffd")


def test_the_outbox_leases_one_worker_and_retries_a_failure_later(engine: Engine) -> None:
    gid = send(engine, firing()).group_id
    with Session(engine) as session, session.begin():
        assert alert_groups.due(session, T0, "w1") == [gid]
        assert alert_groups.claim(session, gid, "w1", T0, 60) is not None
        assert alert_groups.claim(session, gid, "w2", T0 + 1, 60) is None, "w1 holds it"
        alert_groups.fail(session, gid, "w1", "channel_not_found", T0 + 30)
        assert alert_groups.due(session, T0 + 10, "w2") == [], "not before its retry time"
        assert alert_groups.due(session, T0 + 31, "w2") == [gid]
        group = alert_groups.claim(session, gid, "w2", T0 + 31, 60)
        assert group is not None
        assert group.attempts == 1
        alert_groups.finish(session, gid, "w2", group.version)
        assert alert_groups.due(session, T0 + 100, "w2") == []
