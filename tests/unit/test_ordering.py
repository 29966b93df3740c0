"""A thread's messages keep the order people wrote them in, whichever worker queues them."""

from __future__ import annotations

import pytest

from agents.ordering import FINE_SPAN_US, ORDER_WINDOW_S, order_hold, thread_order
from core.types import IncomingMessage, ThreadRef

THREAD = ThreadRef(team="T1", channel="C1", thread_ts="1700000000.000000")


def at(offset_s: float) -> IncomingMessage:
    return IncomingMessage(ts=f"{1700000000 + offset_s:.6f}", text="x")


def test_priorities_follow_the_message_times_across_the_whole_range() -> None:
    offsets = [0, 0.00002, 0.0004, 0.0005, 1, 59.99999, FINE_SPAN_US / 1e6 - 0.00001,
               FINE_SPAN_US / 1e6 + 0.001, 86_400, 14 * 86_400]  # fmt: skip
    priorities = [thread_order(THREAD, at(o)) for o in offsets]
    assert priorities == sorted(priorities)
    assert len(set(priorities)) == len(priorities), "no two of these share a priority"
    assert priorities[0] == 1


def test_replies_written_in_the_same_millisecond_keep_their_order() -> None:
    first, second = thread_order(THREAD, at(12.000100)), thread_order(THREAD, at(12.000150))
    assert first is not None
    assert second is not None
    assert first < second


def test_priorities_stay_in_dbos_range() -> None:
    assert thread_order(THREAD, at(-5)) == 1
    assert thread_order(THREAD, at(365 * 86_400)) == 2**31 - 1
    assert thread_order(THREAD, IncomingMessage(ts="not-a-ts", text="x")) is None


def test_a_fresh_reply_waits_out_the_window_and_a_first_or_late_message_does_not() -> None:
    now = 1700000100.0
    assert order_hold(THREAD, at(0), now) is None, "the thread's first message runs at once"
    assert order_hold(THREAD, at(100 - 0.25), now) == pytest.approx(ORDER_WINDOW_S - 0.25)
    assert order_hold(THREAD, at(100 - ORDER_WINDOW_S - 0.1), now) is None
    assert order_hold(THREAD, at(130), now) == ORDER_WINDOW_S, "a clock behind Slack's is capped"
    assert order_hold(THREAD, IncomingMessage(ts="bad", text="x"), now) is None
