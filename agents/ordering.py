"""The order of a thread's messages in the `threads` queue, across workers."""

from __future__ import annotations

from core.types import IncomingMessage, ThreadRef

# A reply waits until this long after it was written before it may run, so an earlier message
# of its thread that reached another worker (or this one) a moment later is queued first.
ORDER_WINDOW_S = 3.0  # covers bot/listeners/messages.py REPLY_INPUT_BUDGET_S and delivery
FINE_SPAN_US = 3_600_000_000


def thread_order(thread: ThreadRef, message: IncomingMessage) -> int | None:
    """The message's place in its thread, as a queue priority (lower runs first).

    Two workers may enqueue two messages of one thread in either order; the queue then still
    runs them in the order people wrote them. DBOS priorities are 31-bit: the thread's first
    hour counts in 10 µs steps (replies written in the same millisecond keep their order),
    later messages in 1 ms steps, which lasts about three weeks.
    """
    try:
        offset_us = round((float(message.ts) - float(thread.thread_ts)) * 1_000_000)
    except ValueError:
        return None
    if offset_us < FINE_SPAN_US:
        steps = offset_us // 10
    else:
        steps = FINE_SPAN_US // 10 + (offset_us - FINE_SPAN_US) // 1000
    return min(max(steps + 1, 1), 2**31 - 1)


def order_hold(thread: ThreadRef, message: IncomingMessage, now: float) -> float | None:
    """How long a reply waits before it may run: the rest of `ORDER_WINDOW_S` after its ts.

    The queue orders what it holds by `thread_order`, but cannot order a message it does not
    hold yet: two replies written a moment apart can reach two workers, and the later one be
    queued and started before the earlier one is queued. Holding each reply until the window
    after it was written has passed lets the earlier one arrive first. A thread's first
    message has nothing before it and runs at once; so does a reply that arrives late.
    """
    if message.ts == thread.thread_ts:
        return None
    try:
        age = now - float(message.ts)
    except ValueError:
        return None
    hold = min(ORDER_WINDOW_S, ORDER_WINDOW_S - age)
    return hold if hold > 0 else None
