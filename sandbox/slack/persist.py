"""Keep a sandbox workspace's messages across restarts (`make dev` runs again with history)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.slack.model import Message, Workspace

FIELDS = ("ts", "channel", "user", "text", "blocks", "thread_ts", "bot_id", "edited",
          "reactions", "metadata", "stream_text", "reply_count")  # fmt: skip


def save(workspace: Workspace, path: Path) -> None:
    """Write every channel's messages to `path` (atomically)."""
    data = {
        channel.id: [{name: getattr(m, name) for name in FIELDS} for m in channel.messages.values()]
        for channel in workspace.channels.values()
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    temporary.replace(path)


def load(workspace: Workspace, path: Path) -> int:
    """Put saved messages back; a message that was streaming is no longer (its stream died)."""
    if not path.is_file():
        return 0
    data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
    count = 0
    for channel_id, messages in data.items():
        channel = workspace.channels.get(channel_id)
        if channel is None:
            continue
        for raw in messages:
            fields: dict[str, Any] = {name: raw[name] for name in FIELDS if name in raw}
            message = Message(**fields)
            message.reactions = dict(message.reactions or {})
            message.stream_text = message.stream_text or ""
            channel.messages[message.ts] = message
            count += 1
    return count
