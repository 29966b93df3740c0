"""Which mentions in a message Slack would deliver as a broadcast to many people.

Slack's rules: in mrkdwn (a message's `text`, `mrkdwn` text objects) `<!channel>`,
`<!here>`, `<!everyone>` and `<!subteam^S…>` notify; the plain `@channel` word only when the
message was sent with `link_names` (or `parse=full`). Markdown (`markdown` blocks, streamed
`markdown_text`) is parsed for people, so the plain word counts there too. Rich text notifies
only through its `broadcast` and `usergroup` elements; plain_text never does. A legacy
attachment's `pretext`, `text` and field values are mrkdwn too. A streamed task card's
`title`, `details` and `output` and a plan's `title` arrive as strings in stream chunks that
Slack turns into rich text for people, like the stream's markdown: they count as markdown.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.slack.model import Message

SPECIAL = re.compile(
    r"<!(?:(?P<range>channel|here|everyone|group)\b|subteam\^(?P<group>[A-Za-z0-9]+))[^<>]*>",
    re.IGNORECASE,
)
PLAIN = re.compile(r"(?<![\w@])@(?P<range>channel|here|everyone)\b", re.IGNORECASE)
CARD_KINDS = ("task_card", "plan", "plan_title")
CARD_TEXT = ("title", "details", "output")


def _special(text: str) -> list[str]:
    return [m["range"].lower() if m["range"] else f"subteam:{m['group']}"
            for m in SPECIAL.finditer(text)]  # fmt: skip


def _plain(text: str) -> list[str]:
    return [m["range"].lower() for m in PLAIN.finditer(text)]


def _in_blocks(value: Any) -> list[str]:
    if isinstance(value, list):
        return [found for item in value for found in _in_blocks(item)]
    if not isinstance(value, dict):
        return []
    kind, text = value.get("type"), value.get("text")
    if kind == "mrkdwn" and isinstance(text, str):
        return _special(text)
    if kind == "markdown" and isinstance(text, str):
        return _special(text) + _plain(text)
    if kind == "broadcast":
        return [str(value.get("range", "channel"))]
    if kind == "usergroup":
        return [f"subteam:{value.get('usergroup_id', '')}"]
    if kind == "plain_text":
        return []
    if kind in CARD_KINDS:
        found = [m for key in CARD_TEXT if isinstance(value.get(key), str)
                 for m in _special(value[key]) + _plain(value[key])]  # fmt: skip
        return found + _in_blocks(value.get("tasks") or [])
    return [found for item in value.values() for found in _in_blocks(item)]


def broadcasts(message: Message) -> list[str]:
    """The broadcasts this message would send: `channel`, `here`, `everyone`, `subteam:S…`."""
    found = _special(message.text)
    if message.link_names:
        found += _plain(message.text)
    if message.stream_text:
        found += _special(message.stream_text) + _plain(message.stream_text)
    found += _in_blocks([p for p in message.stream_parts if p.get("type") in CARD_KINDS])
    for attachment in message.attachments or []:
        for key in ("pretext", "text", "title"):
            found += _special(str(attachment.get(key) or ""))
        for item in attachment.get("fields") or []:
            found += _special(str(item.get("value") or "")) if isinstance(item, dict) else []
        found += _in_blocks(attachment.get("blocks") or [])
    return found + _in_blocks(message.blocks or [])
