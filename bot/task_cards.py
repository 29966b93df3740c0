"""Task cards never left running: a card shown `in_progress` gets its end, wherever it shows.

A tool call's card is sent `in_progress` into the run's live stream and later, same id,
`complete` or `error` (bot/task_chunks.py). Two things can come between:

- The run ends first (Stop, `/opsbot cancel`, a failure, a limit): the events of a step still
  in flight are dropped once the run has ended, so its card's end would never come. The
  renderer ends every running card with `error` and a short output ("stopped by <@U…>",
  "cancelled", "not finished") before the stream stops (`ending_cards`).
- The stream ends under the card (Slack finalizes a stream that is too old, or the bot
  closes a full message): the next stream opens with the running cards sent again,
  `in_progress`, so their end shows there (`carried`). A card in a stream the bot stops itself
  is left `pending` with a pointer to the next message (`left_behind`), not spinning.

`RunView.running_cards` holds what the current stream shows as running, kept by `note_sent`
after each streaming call Slack took.
"""

from __future__ import annotations

import time
from typing import Any

from bot import task_chunks
from bot.run_view import RunView

Card = tuple[dict[str, Any], str, str]  # (task_update chunk, text line, end of a text line)
CONTINUES = "continues in the next message"


def ending_output(outcome: str, stopped_by: str | None) -> str:
    """The output of a card still running when its run ended with `outcome` (a RunFinished
    outcome), `stopped_by` the person who cancelled it (None: it ended by itself)."""
    if stopped_by:
        return f"stopped by <@{stopped_by}>"
    return "cancelled" if outcome == "cancelled" else f"not finished (run {outcome})"


def ending_cards(view: RunView, output: str) -> list[Card]:
    """The `error` end of every call of the run still running (its card queued or shown),
    with `output`, as cards to queue; the calls are no longer running afterwards."""
    cards: list[Card] = []
    for tool_use_id, title in view.tasks.items():
        chunk = task_chunks.task_finished(tool_use_id, title, "not_finished", output,
                                          view.redactor)  # fmt: skip
        name = title.split(" ", 1)[0]
        cards.append((chunk, f"\n> :gear: `{name}` — {output}\n", f" — {output}\n"))
    view.tasks.clear()
    view.task_since.clear()
    return cards


def progress_cards(view: RunView) -> list[Card]:
    """Each running call's card saying for how long it runs (bot/renderer.py KEEPALIVE_S);
    none unless the run's live message is an open stream."""
    if not (view.tasks and view.live_ts is not None and view.streamed):
        return []
    now = time.monotonic()
    return [
        (task_chunks.task_running(i, title, now - view.task_since.get(i, now)), "", "")
        for i, title in view.tasks.items()
    ]


def note_sent(view: RunView, chunks: list[dict[str, Any]]) -> None:
    """Slack took `chunks` into the run's stream: remember which cards it now shows running."""
    for chunk in chunks:
        if chunk.get("type") != "task_update":
            continue
        if chunk["status"] == "in_progress":
            view.running_cards[chunk["id"]] = chunk
        else:
            view.running_cards.pop(chunk["id"], None)


def carried(view: RunView) -> list[dict[str, Any]]:
    """The cards an ended stream showed running, to open the next stream with (`in_progress`
    again, their end follows there); empty when none runs."""
    return list(view.running_cards.values())


def left_behind(view: RunView) -> list[dict[str, Any]]:
    """The chunks that stop a stream the bot closes itself without a running card spinning in
    it for good: each is `pending`, pointing to the next message, where it is carried."""
    return [{**chunk, "status": "pending", "details": CONTINUES}
            for chunk in view.running_cards.values()]  # fmt: skip


def as_lines(view: RunView, cards: list[Card]) -> str:
    """Cards that could not be streamed as the text lines a client without cards shows: a
    call's outcome ends the line of its start when that start was written as a line."""
    text = ""
    for chunk, line, end in cards:
        if chunk["type"] != "task_update" or not (line or end):
            continue  # a plan title (its routed line is in the text) or a call's progress
        if end and view.open_line == chunk["id"]:
            text += end
        else:
            text += ("\n" if view.open_line else "") + line
        view.open_line = None if end else chunk["id"]
    return text
