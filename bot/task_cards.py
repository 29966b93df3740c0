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

Both of the above hold only in the process that rendered the cards. Two others meet them:

- Another process ends the run. Processes share the database, so the Stop button's
  `agent_session_stopped` event or `/opsbot cancel` may reach process B while the run executes
  and streams in A. B cancels it (DBOS) and publishes its end to its own renderer, whose view
  of the run is rebuilt from the database and knows neither A's stream nor A's cards; A's
  workflow, cancelled, never publishes an end. So B's renderer, ending a run it did not
  render, first `adopt`s what A showed from the database: the run's newest message still
  streaming (agents/live_messages.py records each one, whoever opened it) and its calls
  still running (agents/running_calls.py); it ends those cards there, sends again the ends of
  calls that finished since that stream opened (A may not have written them before the stop),
  and closes that stream with the footer, as A would have (Slack lets any holder of the bot
  token append to and stop a stream by channel and ts; so does the local workspace). Its text
  is A's: B never rewrites it. A card's title becomes its tool's name there, as after a
  restart (A's key argument passed A's run redactor, whose memory B lacks). The Stop
  listener's own stop of a named stream drops its row likewise. A learns it on its next
  write to the stream (the call in flight finishing, a progress card): Slack answers
  `message_not_in_streaming_state`, and the stream's row is gone while the run has ended, so
  A `close`s its view (no new stream with the card running again) instead of carrying on.
  Ending the cards where B is, from the database, needs nothing from A: A may be busy or
  dead; waiting for A to notice the cancellation would leave them spinning meanwhile.
- The process died. At the next start bot/leftovers.py stops the dead process's streams with
  `restart_endings` (the cards still running are the run's calls not finished in the
  database when the dead process could last render them: for a run that had ended, at its
  end, after which no event of it is rendered; else at this start, before which DBOS resumed
  nothing). Each ends `error`, saying what follows: it runs again (a read-only call of a
  resumed run: its step runs again), it is not run again (an approved call, whose outcome is
  unknown: agents/tool_steps.py), or how the run ended ("stopped by <@U…>", ...). A call
  that finished earlier, since the stream opened, gets its own end again.
"""

from __future__ import annotations

import time
from typing import Any

from agents import live_messages, running_calls
from bot import task_chunks
from bot.run_view import RunView
from core.redact import Redactor

Card = tuple[dict[str, Any], str, str]  # (task_update chunk, text line, end of a text line)
CONTINUES = "continues in the next message"
RUNS_AGAIN = "interrupted by a restart; it runs again"
NOT_RUN_AGAIN = "interrupted by a restart; not run again (its outcome is unknown)"
INTERRUPTED = "interrupted by a restart"
ENDED = ("complete", "error")


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
            view.card_ends.pop(chunk["id"], None)


def note_refused(view: RunView, chunks: list[dict[str, Any]]) -> None:
    """Slack refused `chunks` (they went out as text lines): the end of a card it shows
    running is kept, to be sent where the card shows next (`carried`, `left_behind`)."""
    for chunk in chunks:
        ended = chunk.get("type") == "task_update" and chunk["status"] in ENDED
        if ended and chunk["id"] in view.running_cards:
            view.card_ends[chunk["id"]] = chunk


def carried(view: RunView) -> list[dict[str, Any]]:
    """The cards an ended stream showed running, to open the next stream with (`in_progress`
    again, their end follows there; a refused end is sent as it is); empty when none runs."""
    return [view.card_ends.get(i, chunk) for i, chunk in view.running_cards.items()]


def left_behind(view: RunView) -> list[dict[str, Any]]:
    """The chunks that stop a stream the bot closes itself without a running card spinning in
    it for good: a card whose end Slack refused gets that end; any other is `pending`,
    pointing to the next message, where it is carried."""
    return [view.card_ends.get(i) or {**chunk, "status": "pending", "details": CONTINUES}
            for i, chunk in view.running_cards.items()]  # fmt: skip


def bare(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`chunks` as the least Slack can refuse: each card its id, the title it was shown
    with and its status (no details, output or sources)."""
    return [{key: c[key] for key in ("type", "id", "title", "status")} for c in chunks]


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


def finished_card(call: running_calls.RunningCall, redactor: Redactor) -> Card:
    """The end of a call that finished, as its renderer words it (status, detail, duration),
    for a process that did not hear it finish; the title is the tool's name (the key argument
    a card showed was redacted with what that renderer's run redactor had learned)."""
    said = f"{task_chunks.tool_outcome(call.status, call.detail)} · {call.duration_ms:.0f} ms"
    chunk = task_chunks.task_finished(call.tool_use_id, call.name, call.status, said, redactor)
    return chunk, f"\n> :gear: `{call.name}` — {said}\n", f" — {said}\n"


async def adopt(view: RunView) -> list[Card]:
    """Before ending a run this process did not render: take on the stream another process
    showed it in (the newest still streaming) and the run's calls still running there, so
    `ending_cards` ends them in it and the footer closes it. Returns the ends of the calls
    that finished since that stream opened, to queue first: the other process may not have
    written them before the stream was stopped. No stream: nothing changes or is queued."""
    if view.live_ts is not None:
        return []
    stream = await live_messages.open_stream(view.run_id)
    if stream is None:
        return []
    view.live_ts, view.live_text, view.streamed, view.adopted = stream[0], "", True, True
    cards: list[Card] = []
    for call in await running_calls.left_running(view.run_id, stream[1]):
        if call.finished:
            cards.append(finished_card(call, view.redactor))
        else:
            view.tasks.setdefault(call.tool_use_id, call.name)
    return cards


def close(view: RunView) -> None:
    """Another process ended the run and its stream: drop what this one would still write."""
    view.closed = True
    view.live_ts, view.live_text, view.pending, view.call_start = None, "", "", 0
    view.tasks.clear()
    view.task_since.clear()
    view.running_cards.clear()
    view.card_ends.clear()
    view.chunk_store.clear()


def restart_output(call: running_calls.RunningCall, end: running_calls.RunEnd | None) -> str:
    """The output of a card a dead process left running: how the run ended (`end`), else
    what the resumed run does with the call."""
    if end is not None:
        return ending_output(end.outcome, end.stopped_by)
    return NOT_RUN_AGAIN if call.approved else RUNS_AGAIN


async def restart_endings(run_id: str, opened_at: float, started_at: float) -> list[dict[str, Any]]:
    """The chunks that end the cards a dead process left running in a stream of `run_id` it
    opened at `opened_at`, this process having started at `started_at`: each call that finished
    since the stream opened and before the dead process could last render it (the run's end,
    after which no event of it is rendered; else this start) with its own end; each call
    still running, or finished only since, `error` with `restart_output`."""
    end, ended_at = await running_calls.run_end(run_id)
    cutoff = ended_at if ended_at is not None else started_at
    redactor = Redactor()
    chunks: list[dict[str, Any]] = []
    for call in await running_calls.left_running(run_id, opened_at):
        if call.finished_at is not None and call.finished_at < cutoff:
            chunks.append(finished_card(call, redactor)[0])
        else:
            said = restart_output(call, end)
            chunks.append(task_chunks.task_finished(call.tool_use_id, call.name, "not_finished",
                                                    said, redactor))  # fmt: skip
    return chunks
