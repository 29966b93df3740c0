"""A run's tool calls as the task cards of Slack's streamed timeline, its agent hops as the plan.

Each tool call is a `task_update` chunk (docs.slack.dev/messaging/sending-and-scheduling-
messages#text-streaming; slack_sdk.models.messages.chunk.TaskUpdateChunk): sent
`in_progress` when the tool starts and again, with the same id, `complete` or `error` with a
one-line output when it finishes. Titles and outputs pass the run's redactor first, cannot
broadcast (Slack turns a card's strings into rich text for people, as it does the stream's
markdown: bot/safe_text.py `safe_markdown`, before the cut, so an escaped mention never pushes
a title past Slack's length) and stay within the lengths Slack draws on one line.
"""

from __future__ import annotations

import re
from typing import Any

from bot.safe_text import safe_markdown
from core.redact import Redactor

MAX_TITLE = 200
MAX_OUTPUT = 500
MAX_TOOL_DETAIL = 300
DISPLAY_MODE = "timeline"  # chat.startStream's task_display_mode: each card where it happened
CUT_MARK = "..."  # how agents/tool_steps.py key_argument ends an argument it shortened
_PARTIAL_WORD = re.compile(r"[^\s/]*$")


def _clip(text: str, limit: int) -> str:
    text = " ".join(safe_markdown(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def whole_words(summary: str) -> str:
    """A key argument as it may be shown: one that was shortened (it ends in `...`) loses the
    word it was cut in, which may be the start of a secret no redactor pattern recognises
    (`AKIAIOSFODNN7EXA...`); path segments before it stay (`logs/…`)."""
    if not summary.endswith(CUT_MARK):
        return summary
    kept = _PARTIAL_WORD.sub("", summary[: -len(CUT_MARK)]).rstrip()
    return f"{kept}…"


def task_started(tool_use_id: str, name: str, summary: str, redactor: Redactor) -> dict[str, Any]:
    """The chunk of a tool call that began: `name` and its key argument (`summary`, without a
    word cut in two: `whole_words`)."""
    title = _clip(redactor.redact(f"{name} {whole_words(summary)}".strip()), MAX_TITLE)
    return {"type": "task_update", "id": tool_use_id, "title": title, "status": "in_progress"}


def task_running(tool_use_id: str, title: str, elapsed_s: float) -> dict[str, Any]:
    """The chunk that says a call still runs and for how long (`details`: "running for 1m 05s");
    `title` is the one it started with."""
    minutes, seconds = divmod(int(elapsed_s), 60)
    took = f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
    return {"type": "task_update", "id": tool_use_id, "title": _clip(title, MAX_TITLE),
            "status": "in_progress", "details": f"running for {took}"}  # fmt: skip


def task_finished(
    tool_use_id: str, title: str, status: str, outcome: str, redactor: Redactor
) -> dict[str, Any]:
    """The chunk of a tool call that ended: `complete`, or `error` when its status (a
    ToolStatus value) is anything but "ok", with `outcome` (one line: status, detail, duration) as
    its output. `title` is the one it started with (the tool's name after a restart)."""
    chunk: dict[str, Any] = {
        "type": "task_update", "id": tool_use_id, "title": _clip(title, MAX_TITLE),
        "status": "complete" if status == "ok" else "error",
    }  # fmt: skip
    if output := _clip(redactor.redact(outcome), MAX_OUTPUT):
        chunk["output"] = output
    return chunk


def tool_outcome(status: str, detail: str) -> str:
    """How a tool call ended, for its line: `ok`, `error: no such file`, or a detail that
    already says it (`Rejected by <@U…>: reason`) as it stands; always one line (a git error
    or a person's reason over several lines is folded)."""
    detail = " ".join(detail.split())
    if len(detail) > MAX_TOOL_DETAIL:
        detail = detail[:MAX_TOOL_DETAIL].rsplit(" ", 1)[0] + " …"
    if not detail:
        return status
    if detail.lower().startswith(status.lower()):
        return detail
    return f"{status}: {detail}"


def plan_update(agents: list[str], redactor: Redactor) -> dict[str, Any]:
    """The chunk that titles the stream's plan with the run's agent hops so far
    (`log_analyzer → coding`): Slack's `plan_update` chunk (slack_sdk.models.messages.chunk.
    PlanUpdateChunk) carries only a title, so each hop sends the whole path again."""
    title = _clip(redactor.redact(" → ".join(agents)), MAX_TITLE)
    return {"type": "plan_update", "title": title}


# A card waits in a run's pending text as a marker where it happened, so it goes out with the
# next flush, in order with the text and batched with the cards beside it, and the tool step
# never waits for Slack. Private-use characters: never in redacted model text shown to Slack.
MARKER = re.compile("\ue000([0-9]+)\ue001")


def marker(key: int) -> str:
    """The marker of the card stored under `key` in the run view's `chunk_store`."""
    return f"\ue000{key}\ue001"


def take_markers(text: str) -> tuple[str, list[str], str] | None:
    """(the text before the first marker, the keys of that run of adjacent markers, the text
    after them); None when `text` holds no marker."""
    found = MARKER.search(text)
    if found is None:
        return None
    keys, end = [found.group(1)], found.end()
    while (following := MARKER.match(text, end)) is not None:
        keys.append(following.group(1))
        end = following.end()
    return text[: found.start()], keys, text[end:]
