"""The text of a Slack message, wherever it is: `text`, Block Kit blocks and attachments.

Apps such as Alertmanager and Datadog post with an empty `text` and the content in
`attachments`; others use `blocks`; people's messages carry `rich_text` blocks that repeat
`text`. Everything is rendered to one string in Slack's escaped mrkdwn (rich text elements,
which are literal, are escaped on the way), so `bot/slack_markup.decode` reads it all alike.

Shapes as Slack documents them: attachments in "Reference: secondary message attachments"
(docs.slack.dev/messaging/formatting-message-text#attachments: `pretext`, `author_name`,
`title`, `title_link`, `text`, `fields[].title/value`, `footer`, `fallback`, `blocks`); blocks
in the Block Kit reference (docs.slack.dev/reference/block-kit/blocks: `section` `text` and
`fields`, `header`, `context` `elements`, `rich_text` with `rich_text_section`,
`rich_text_list`, `rich_text_quote`, `rich_text_preformatted`, `markdown`, `image`); files
in "File object" (docs.slack.dev/reference/objects/file-object: `name`, `title`, `mimetype`,
`pretty_type`, `filetype`, `size` in bytes, `mode` (`tombstone` for a deleted file,
`hidden_by_limit` on a plan that hides old files), `preview` of a snippet, `file_access`
`check_file_info` when a Slack Connect event leaves the details out). A file is described,
never downloaded: its content reaches the agent only as far as Slack's `preview` goes.

Names and titles from outside (attachment authors, titles, field titles, file names) are one
line each (bot/frame_text.py), so none can start a line of its own in the agent's input.
"""

from __future__ import annotations

import re
from typing import Any

from bot.frame_text import one_line
from bot.slack_markup import escape

_SPACE = re.compile(r"\s+")
MAX_FILE_NAME_CHARS = 120
MAX_PREVIEW_CHARS = 600


def _text_object(value: Any) -> str:
    """A text object (`mrkdwn` as sent, `plain_text` escaped) or a bare string."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return ""
    text = str(value.get("text") or "")
    return escape(text) if value.get("type") == "plain_text" else text


def _rich_element(element: dict[str, Any]) -> str:
    """One rich text leaf in escaped mrkdwn (a person, channel, group, link, emoji, text)."""
    kind = element.get("type")
    if kind == "text":
        return escape(str(element.get("text") or ""))
    if kind == "user":
        return f"<@{element.get('user_id', '')}>"
    if kind == "channel":
        return f"<#{element.get('channel_id', '')}>"
    if kind == "usergroup":
        return f"<!subteam^{element.get('usergroup_id', '')}>"
    if kind == "broadcast":
        return f"<!{element.get('range', 'here')}>"
    if kind == "link":
        url, text = str(element.get("url") or ""), element.get("text")
        return f"<{escape(url)}|{escape(str(text))}>" if text else f"<{escape(url)}>"
    if kind == "emoji":
        return f":{element.get('name', '')}:"
    if kind == "date":
        return escape(str(element.get("fallback") or element.get("timestamp") or ""))
    if kind == "team":
        return f"@{element.get('team_id', '')}"
    return ""


def _rich_container(container: dict[str, Any]) -> str:
    """A rich text section, list, quote or preformatted block as lines."""
    kind = container.get("type")
    if kind == "rich_text_list":
        items = [_rich_container(item) for item in container.get("elements") or []]
        ordered = container.get("style") == "ordered"
        indent = "  " * int(container.get("indent") or 0)
        return "\n".join(
            f"{indent}{f'{n}.' if ordered else '-'} {item}" for n, item in enumerate(items, 1)
        )
    inner = "".join(
        _rich_element(e) for e in container.get("elements") or [] if isinstance(e, dict)
    )
    if kind == "rich_text_preformatted":
        return f"```\n{inner}\n```"
    if kind == "rich_text_quote":
        return "\n".join(f"> {line}" for line in inner.splitlines())
    return inner


def block_text(block: dict[str, Any]) -> str:
    """The words of one block (empty for dividers, buttons and images without alt text)."""
    kind = block.get("type")
    if kind in ("section", "header", "markdown"):
        parts = [_text_object(block.get("text"))]
        parts += [_text_object(f) for f in block.get("fields") or []]
        return "\n".join(p for p in parts if p)
    if kind == "context":
        return " · ".join(t for e in block.get("elements") or [] if (t := _text_object(e)))
    if kind == "rich_text":
        containers = [c for c in block.get("elements") or [] if isinstance(c, dict)]
        return "\n".join(t for c in containers if (t := _rich_container(c)))
    if kind == "image":
        alt = str(block.get("alt_text") or "")
        return f"[image: {escape(alt)}]" if alt else ""
    return ""


def blocks_text(blocks: Any) -> str:
    """The words of a list of blocks, one block a paragraph."""
    if not isinstance(blocks, list):
        return ""
    return "\n".join(t for b in blocks if isinstance(b, dict) if (t := block_text(b)))


def attachment_text(attachment: dict[str, Any]) -> str:
    """A legacy attachment's words: pretext, author, title (with its link), text, fields,
    blocks, footer; the fallback only when nothing else says anything."""
    lines: list[str] = []
    if attachment.get("pretext"):
        lines.append(str(attachment["pretext"]))
    if attachment.get("author_name"):
        lines.append(one_line(str(attachment["author_name"])))
    title, link = attachment.get("title"), attachment.get("title_link")
    if title:
        title = one_line(str(title), MAX_FILE_NAME_CHARS)
        lines.append(f"<{link}|{title}>" if link else title)
    if attachment.get("text"):
        lines.append(str(attachment["text"]))
    for item in attachment.get("fields") or []:
        if isinstance(item, dict) and (item.get("title") or item.get("value")):
            name, value = one_line(str(item.get("title") or "")), str(item.get("value") or "")
            lines.append(f"{name}: {value}" if name else value)
    if inner := blocks_text(attachment.get("blocks")):
        lines.append(inner)
    if not lines and attachment.get("fallback"):
        lines.append(str(attachment["fallback"]))
    if attachment.get("footer"):
        lines.append(str(attachment["footer"]))
    return "\n".join(lines)


def _size(size: Any) -> str:
    """Bytes as a person reads them (`532 B`, `1.2 KB`, `3.4 MB`); empty when unknown."""
    if isinstance(size, bool) or not isinstance(size, int | float) or size < 0:
        return ""
    amount, units = float(size), ["B", "KB", "MB", "GB"]
    while amount >= 1024 and len(units) > 1:
        amount, units = amount / 1024, units[1:]
    return f"{amount:.0f} {units[0]}" if units[0] == "B" else f"{amount:.1f} {units[0]}"


def file_text(file: dict[str, Any]) -> str:
    """A shared file as a line: name, title, type, size (and a snippet's preview); Slack's
    own words when the file is deleted, hidden or its details are not in the event."""
    if file.get("mode") == "tombstone":
        return "[file: deleted]"
    if file.get("mode") == "hidden_by_limit":
        return "[file: hidden by the workspace's plan]"
    name = one_line(str(file.get("name") or ""), MAX_FILE_NAME_CHARS)
    title = one_line(str(file.get("title") or ""), MAX_FILE_NAME_CHARS)
    if not name and not title:
        return f"[file {escape(str(file.get('id') or ''))}: Slack did not include its details]"
    kinds = [str(file.get(k)) for k in ("pretty_type", "filetype", "mimetype") if file.get(k)]
    facts = [f'titled "{title}"' if name and title and title != name else "",
             " / ".join(dict.fromkeys(kinds)), _size(file.get("size"))]  # fmt: skip
    described = ", ".join(f for f in facts if f)
    line = escape(f"[file: {name or title}" + (f", {described}" if described else "") + "]")
    preview = str(file.get("preview") or "").strip()
    if not preview:
        return line
    cut = preview[:MAX_PREVIEW_CHARS] + (" …" if len(preview) > MAX_PREVIEW_CHARS else "")
    return f"{line}\n```\n{escape(cut)}\n```"


def _squeezed(text: str) -> str:
    return _SPACE.sub("", text)


def message_text(message: dict[str, Any]) -> str:
    """Everything a message says, in escaped mrkdwn: its text and its blocks (once when one
    repeats the other; a person's rich text always repeats their text), then each
    attachment, then each shared file (described, not downloaded)."""
    text = str(message.get("text") or "").strip()
    blocks = blocks_text(message.get("blocks")).strip()
    from_app = bool(message.get("bot_id")) or message.get("subtype") == "bot_message"
    if not blocks or _squeezed(blocks) in _squeezed(text) or (text and not from_app):
        parts = [text]
    elif not text or _squeezed(text) in _squeezed(blocks):
        parts = [blocks]
    else:
        parts = [text, blocks]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict) and (said := attachment_text(attachment)):
            parts.append(said)
    for file in message.get("files") or []:
        if isinstance(file, dict):
            parts.append(file_text(file))
    return "\n".join(p for p in parts if p)
