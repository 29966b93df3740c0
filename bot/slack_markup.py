"""Slack's message markup read back as the text a person sees.

Slack sends a message's `text` (and `mrkdwn` text objects) with `&`, `<` and `>` escaped as
`&amp;`, `&lt;` and `&gt;`, and with references in angle brackets: `<@U123>` (a person),
`<#C123|name>` (a channel), `<!subteam^S123|@handle>` (a user group), `<!here>`,
`<!channel>`, `<!everyone>` (broadcasts), `<!date^1700000000^{date}|fallback>` (a date) and
`<https://x|label>` / `<mailto:a@b|a@b>` (links). Source: Slack's "Formatting text for app
surfaces" (docs.slack.dev/messaging/formatting-message-text, sections "Escaping text" and
"Advanced formatting"). No maintained Python package decodes this (the ones on PyPI convert
Markdown *to* mrkdwn), hence this small module.

Decoding happens in two passes so that the lookups can be asynchronous and cached:
`references(text)` lists the ids that need a name, the caller looks them up, then
`decode(text, names)` is a pure function. An id without a name stays readable as the id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
REFERENCE = re.compile(r"<([^<>]*)>")
BROADCASTS = ("here", "channel", "everyone", "group")


@dataclass
class References:
    """Ids a text names without a label: people, channels, user groups."""

    users: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    usergroups: set[str] = field(default_factory=set)

    def add(self, other: References) -> None:
        """Merge another text's references into these."""
        self.users |= other.users
        self.channels |= other.channels
        self.usergroups |= other.usergroups


@dataclass(frozen=True)
class Names:
    """Readable names by id: a person's display name, a channel's name, a group's handle."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    usergroups: dict[str, str] = field(default_factory=dict)


def unescape(text: str) -> str:
    """`&amp;` `&lt;` `&gt;` as `&` `<` `>`, in one pass (`&amp;lt;` stays `&lt;`)."""
    return ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def escape(text: str) -> str:
    """Raw text in Slack's escaped form (the inverse of `unescape`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _split(body: str) -> tuple[str, str | None]:
    target, bar, label = body.partition("|")
    return target, (label if bar else None)


def references(text: str) -> References:
    """The people, channels and user groups `text` names by id alone (they need a look-up)."""
    found = References()
    for match in REFERENCE.finditer(text):
        target, label = _split(match.group(1))
        if label:
            continue
        if target.startswith("@"):
            found.users.add(target[1:])
        elif target.startswith("#"):
            found.channels.add(target[1:])
        elif target.startswith("!subteam^"):
            found.usergroups.add(target[len("!subteam^") :])
    return found


def all_references(texts: Iterable[str]) -> References:
    """The references of several texts together."""
    found = References()
    for text in texts:
        found.add(references(text))
    return found


def _special(target: str, label: str | None, names: Names) -> str:
    """`<!...>`: a user group, a broadcast, a date, or another command."""
    command = target[1:]
    if command.startswith("subteam^"):
        group = command[len("subteam^") :]
        handle = (label or names.usergroups.get(group) or group).lstrip("@")
        return f"@{handle}"
    if command.startswith("date^"):
        return unescape(label) if label else command.split("^")[1]
    word = command.split("^", 1)[0].lower()
    if word in BROADCASTS:
        return f"@{word}"
    return f"@{unescape(label).lstrip('@')}" if label else f"@{command}"


def _link(target: str, label: str | None) -> str:
    url = unescape(target)
    if label is None:
        return url
    shown = unescape(label).strip()
    if not shown or shown == url or f"mailto:{shown}" == url:
        return shown or url
    return f"{shown} ({url})"


def _reference(body: str, names: Names) -> str:
    target, label = _split(body)
    if target.startswith("@"):
        user = target[1:]
        name = unescape(label) if label else names.users.get(user, user)
        return f"@{name.lstrip('@')}"
    if target.startswith("#"):
        channel = target[1:]
        name = unescape(label) if label else names.channels.get(channel, channel)
        return f"#{name.lstrip('#')}"
    if target.startswith("!"):
        return _special(target, label, names)
    return _link(target, label)


def decode(text: str, names: Names | None = None) -> str:
    """Slack-escaped text as a person reads it: references named, entities decoded."""
    names = names or Names()
    out: list[str] = []
    position = 0
    for match in REFERENCE.finditer(text):
        out.append(unescape(text[position : match.start()]))
        out.append(_reference(match.group(1), names))
        position = match.end()
    out.append(unescape(text[position:]))
    return "".join(out)


def strip_leading_mention(text: str, user: str) -> str:
    """The text without `user`'s mention at its start (`<@U123>` or `<@U123|name>`)."""
    return re.sub(rf"^\s*<@{re.escape(user)}(?:\|[^<>]*)?>[\s,:]*", "", text)
