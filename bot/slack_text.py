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
`rich_text_list`, `rich_text_quote`, `rich_text_preformatted`, `markdown`, `image`).
"""

from __future__ import annotations

import re
from typing import Any

from bot.slack_markup import escape

_SPACE = re.compile(r"\s+")


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
    for key in ("pretext", "author_name"):
        if attachment.get(key):
            lines.append(str(attachment[key]))
    title, link = attachment.get("title"), attachment.get("title_link")
    if title:
        lines.append(f"<{link}|{title}>" if link else str(title))
    if attachment.get("text"):
        lines.append(str(attachment["text"]))
    for item in attachment.get("fields") or []:
        if isinstance(item, dict) and (item.get("title") or item.get("value")):
            name, value = str(item.get("title") or ""), str(item.get("value") or "")
            lines.append(f"{name}: {value}" if name else value)
    if inner := blocks_text(attachment.get("blocks")):
        lines.append(inner)
    if not lines and attachment.get("fallback"):
        lines.append(str(attachment["fallback"]))
    if attachment.get("footer"):
        lines.append(str(attachment["footer"]))
    return "\n".join(lines)


def _squeezed(text: str) -> str:
    return _SPACE.sub("", text)


def message_text(message: dict[str, Any]) -> str:
    """Everything a message says, in escaped mrkdwn: its text and its blocks (once when one
    repeats the other; a person's rich text always repeats their text), then each
    attachment."""
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
    return "\n".join(p for p in parts if p)
