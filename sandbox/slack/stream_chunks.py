"""A streamed message's structured chunks: markdown text, task updates and plan titles.

Slack's streaming methods (chat.startStream / appendStream / stopStream) take `chunks`
beside `markdown_text` (docs.slack.dev/messaging/sending-and-scheduling-messages#text-streaming):
a `markdown_text` chunk adds text, a `task_update` chunk (`id`, `title`, `status` one of
pending / in_progress / complete / error, optional `details`, `output`, `sources`) adds a task
card or updates the one with its id in place, a `plan_update` chunk (`title`) names the
plan. `task_display_mode` on chat.startStream shows the tasks as a `timeline` (each card where
it arrived, between the text) or as a `plan` (one plan block of all cards, above the text).
Once finished the message carries them as Block Kit blocks (`markdown`, `task_card`, `plan`),
which is how the local workspace returns and draws it.
"""

from __future__ import annotations

from typing import Any

from sandbox.slack.limits import ApiError

TASK_STATUSES = ("pending", "in_progress", "complete", "error")
DISPLAY_MODES = ("timeline", "plan")
MAX_TASK_TITLE = 256
MAX_TASK_TEXT = 4_000  # `details` and `output` each


def _bad(detail: str) -> ApiError:
    return ApiError("invalid_arguments", detail=detail)


def display_mode(args: dict[str, Any]) -> str | None:
    """chat.startStream's `task_display_mode`: None, "timeline" or "plan"; anything else is
    refused with invalid_arguments."""
    mode = args.get("task_display_mode")
    if mode in (None, ""):
        return None
    if mode not in DISPLAY_MODES:
        raise _bad(f"task_display_mode must be one of {', '.join(DISPLAY_MODES)}")
    return str(mode)


def _text_field(chunk: dict[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = chunk.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(f"task_update chunks need a non-empty string `{name}`")
    if len(value) > limit:
        raise _bad(f"`{name}` of a task_update chunk is longer than {limit} characters")
    return value


def check_chunks(chunks: Any) -> list[dict[str, Any]]:
    """The chunks of one streaming call, checked: a list of objects of a known type with
    their required fields. Raises ApiError(invalid_arguments) naming what is wrong."""
    if chunks is None:
        return []
    if not isinstance(chunks, list):
        raise _bad("chunks must be an array")
    for chunk in chunks:
        if not isinstance(chunk, dict):
            raise _bad("each chunk must be an object")
        kind = chunk.get("type")
        if kind == "markdown_text":
            if not isinstance(chunk.get("text"), str):
                raise _bad("markdown_text chunks need a string `text`")
        elif kind == "task_update":
            _text_field(chunk, "id", MAX_TASK_TITLE, True)
            _text_field(chunk, "title", MAX_TASK_TITLE, True)
            if chunk.get("status") not in TASK_STATUSES:
                raise _bad(f"task_update status must be one of {', '.join(TASK_STATUSES)}")
            _text_field(chunk, "details", MAX_TASK_TEXT, False)
            _text_field(chunk, "output", MAX_TASK_TEXT, False)
        elif kind == "plan_update":
            title = chunk.get("title")
            if not isinstance(title, str) or not title.strip():
                raise _bad("plan_update chunks need a non-empty string `title`")
        elif kind != "blocks":
            raise _bad(f"unknown chunk type {kind!r}")
    return list(chunks)


def apply_chunks(parts: list[dict[str, Any]], chunks: list[dict[str, Any]], text: str) -> None:
    """Add one call's `markdown_text` (`text`) and checked chunks to a message's parts, in
    order: text joins the text part before it, a task update replaces its card in place or
    adds one, a plan title replaces the plan's."""
    pieces: list[dict[str, Any]] = [{"type": "markdown_text", "text": text}] if text else []
    for chunk in (*pieces, *chunks):
        kind = chunk["type"]
        if kind == "markdown_text":
            if parts and parts[-1]["type"] == "markdown":
                parts[-1]["text"] += chunk["text"]
            elif chunk["text"]:
                parts.append({"type": "markdown", "text": chunk["text"]})
        elif kind == "task_update":
            card = {"type": "task_card", "task_id": chunk["id"], "title": chunk["title"],
                    "status": chunk["status"]}  # fmt: skip
            for name in ("details", "output"):
                if chunk.get(name):
                    card[name] = chunk[name]
            known = [p for p in parts if p.get("task_id") == chunk["id"]]
            if known:
                known[0].clear()
                known[0].update(card)
            else:
                parts.append(card)
        elif kind == "plan_update":
            plans = [p for p in parts if p["type"] == "plan_title"]
            if plans:
                plans[0]["title"] = chunk["title"]
            else:
                parts.insert(0, {"type": "plan_title", "title": chunk["title"]})


def has_structure(parts: list[dict[str, Any]]) -> bool:
    """Whether the message holds more than text (a task card or a plan title)."""
    return any(p["type"] != "markdown" for p in parts)


def as_blocks(parts: list[dict[str, Any]], mode: str | None) -> list[dict[str, Any]]:
    """The message's parts as Block Kit blocks: in `plan` mode one `plan` block of every task
    card (titled by the last plan_update) above the text; otherwise (`timeline`) each card
    where it arrived between `markdown` blocks, and a plan title as a header-like plan block
    with no tasks of its own."""
    cards = [dict(p) for p in parts if p["type"] == "task_card"]
    titles = [p["title"] for p in parts if p["type"] == "plan_title"]
    texts = [{"type": "markdown", "text": p["text"]} for p in parts if p["type"] == "markdown"]
    if mode == "plan":
        return [{"type": "plan", "title": titles[0] if titles else "Plan", "tasks": cards},
                *texts]  # fmt: skip
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if part["type"] == "plan_title":
            blocks.append({"type": "plan", "title": part["title"], "tasks": []})
        else:
            blocks.append(dict(part))
    return blocks


def task_lines(parts: list[dict[str, Any]]) -> list[str]:
    """Each task card as one readable line (status, title, output), in order."""
    marks = {"pending": "○", "in_progress": "…", "complete": "✓", "error": "✗"}
    return [
        f"{marks[p['status']]} {p['title']}" + (f" — {p['output']}" if p.get("output") else "")
        for p in parts
        if p["type"] == "task_card"
    ]
