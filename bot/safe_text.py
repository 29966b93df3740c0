"""What the bot writes to Slack can neither ping a crowd nor hide where a link goes.

Model and tool text reaches Slack in three dialects, each with its own rules:

- *mrkdwn* (a message's `text`, `mrkdwn` text objects): `<!channel>`, `<!here>`,
  `<!everyone>` and `<!subteam^S…>` are special mentions; Slack's documented escape for a
  literal `<` and `>` is `&lt;` / `&gt;`, which people then see as the characters themselves.
  A plain `@channel` notifies only with `link_names` / `parse=full`, which no write carries.
- *markdown* (`markdown` blocks, the `markdown_text` of streams): Slack parses it for people,
  so the plain `@channel` forms are rewritten too, with a full-width at sign (U+FF20:
  visible, never a mention), and `[label](url)` links are links.
- *rich text* elements are literal, except the explicit `broadcast`, `usergroup` and `link`
  elements.

A masked link (`<url|label>`, `[label](url)`) is rewritten to show the URL itself, except a
link to a message of a Slack workspace (a permalink, `https://<name>.slack.com/archives/…`,
as chat.getPermalink returns): it stays within Slack, so its label cannot hide where it
goes, and the bot's own status lines link to threads that way. Everything
here is a pure function; `safe_arguments` is the one door every Slack write of the bot passes
(bot/writer.py), so no caller can forget it.
"""

from __future__ import annotations

import re
from typing import Any

SPECIAL_MENTION = re.compile(
    r"<!(?P<body>(?:channel|here|everyone|group)\b[^<>]*|subteam\^[^<>]*)>", re.IGNORECASE
)
PLAIN_BROADCAST = re.compile(r"(?<![\w@\uff20])@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
MASKED_LINK = re.compile(r"<(?P<url>[a-z][a-z0-9+.-]*:[^|<>\s]*)\|(?P<label>[^<>]*)>", re.I)
MARKDOWN_LINK = re.compile(
    r"(?P<image>!?)\[(?P<label>[^\[\]]*)\]\(\s*<?(?P<url>[a-z][a-z0-9+.-]*:[^()\s<>]*)>?"
    r"(?:\s+\"[^\"]*\")?\s*\)",
    re.IGNORECASE,
)
# Whatever the link parser above missed (parentheses or brackets inside, titles, <...>
# destinations): `](` never reaches Slack joined, so no Markdown link can be formed; nor can a
# reference definition (`[ref]: url`).
LINK_JOINT = re.compile(r"\]\(")
REFERENCE_DEFINITION = re.compile(r"(?m)^(\s{0,3}\[[^\]\n]+\]):")
SLACK_PERMALINK = re.compile(
    r"https://[a-z0-9-]+\.slack\.com/archives/[A-Z0-9]+/p\d+(?:\?[^\s<>|]*)?\Z"
)
USER_MENTION = re.compile(r"<@(?P<id>[UW][A-Z0-9]+)(?:\|[^<>]*)?>")
MAX_USER_MENTIONS = 3  # the bot's own lines name a requester and approvers; more is a ping storm
FULLWIDTH_AT = "\uff20"
# Arguments that would turn a plain `@channel` into a broadcast in mrkdwn.
LINKING_ARGUMENTS = ("link_names", "parse")
# Methods that post a new message (Slack unfurls links only there).
POSTING = frozenset({"chat.postMessage", "chat.scheduleMessage"})
# A stream's text arrives in pieces: a piece may not end inside one of these, or the next
# piece would complete a mention or a link that neither piece shows on its own.
_OPEN_ANGLE = re.compile(r"<[^\s<>|]*(?:\|[^<>\n]*)?\Z")
_OPEN_BRACKET = re.compile(r"!?\[[^\[\]]{0,1000}(?:\](?:\(\s*<?[^()\s]{0,2000})?)?\Z")
_OPEN_AT = re.compile(r"(?<![\w@])@(?P<word>[a-z]{0,8})\Z", re.IGNORECASE)
_WORDS = ("channel", "here", "everyone")


def _escaped_mention(match: re.Match[str]) -> str:
    return f"&lt;!{match.group('body')}&gt;"


def _shown_link(url: str, label: str, shown: str | None = None, whole: str = "") -> str:
    if whole and SLACK_PERMALINK.match(url):
        return whole
    label, shown = label.strip(), shown or url
    return shown if not label or label == url else f"{label} ({shown})"


def _few_user_mentions(text: str) -> str:
    """Text naming more than `MAX_USER_MENTIONS` people by mention shows them as text."""
    if len({m["id"] for m in USER_MENTION.finditer(text)}) <= MAX_USER_MENTIONS:
        return text
    return USER_MENTION.sub(lambda m: f"&lt;@{m['id']}&gt;", text)


def _unjoined_links(text: str) -> str:
    return REFERENCE_DEFINITION.sub(r"\1 :", LINK_JOINT.sub("] (", text))


def safe_mrkdwn(text: str) -> str:
    """mrkdwn that cannot broadcast and whose links show their URL (`label (<url>)`)."""
    text = _few_user_mentions(SPECIAL_MENTION.sub(_escaped_mention, text))
    text = MASKED_LINK.sub(
        lambda m: _shown_link(m["url"], m["label"], f"<{m['url']}>", m.group(0)), text
    )
    # Not a link in mrkdwn, but the same text may be read as Markdown (a notification, a client).
    text = MARKDOWN_LINK.sub(lambda m: _shown_link(m["url"], m["label"], f"<{m['url']}>"), text)
    return PLAIN_BROADCAST.sub(FULLWIDTH_AT, _unjoined_links(text))


def safe_markdown(text: str) -> str:
    """Markdown that cannot broadcast and whose links show their URL (`label (url)`)."""
    text = _few_user_mentions(SPECIAL_MENTION.sub(_escaped_mention, text))
    text = MASKED_LINK.sub(lambda m: _shown_link(m["url"], m["label"]), text)
    text = MARKDOWN_LINK.sub(lambda m: _shown_link(m["url"], m["label"]), text)
    return PLAIN_BROADCAST.sub(FULLWIDTH_AT, _unjoined_links(text))


def mrkdwn_escape(text: str) -> str:
    """Any text shown as itself in mrkdwn: `&`, `<` and `>` as Slack's documented entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_stream_tail(text: str) -> tuple[str, str]:
    """(what may be streamed now, the end to hold back until more text arrives).

    The held end is a start of a mention or link that the next piece could complete.
    """
    cut = len(text)
    for pattern in (_OPEN_ANGLE, _OPEN_BRACKET):
        if (found := pattern.search(text)) is not None:
            cut = min(cut, found.start())
    found_at = _OPEN_AT.search(text)
    if found_at is not None and any(w.startswith(found_at["word"].lower()) for w in _WORDS):
        cut = min(cut, found_at.start())
    return text[:cut], text[cut:]


def _safe_rich_element(element: Any) -> Any:
    if not isinstance(element, dict):
        return element
    kind = element.get("type")
    if kind == "broadcast":
        return {"type": "text", "text": f"{FULLWIDTH_AT}{element.get('range', 'channel')}"}
    if kind == "usergroup":
        return {"type": "text", "text": f"{FULLWIDTH_AT}usergroup"}
    if kind == "link" and isinstance(element.get("url"), str):
        return {**element, "text": element["url"]}
    if isinstance(element.get("elements"), list):
        return {**element, "elements": [_safe_rich_element(e) for e in element["elements"]]}
    return element


def safe_block(value: Any) -> Any:
    """A block (or any part of one) with every mrkdwn and markdown text made safe."""
    if isinstance(value, list):
        return [safe_block(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("type")
    if kind == "mrkdwn" and isinstance(value.get("text"), str):
        return {**value, "text": safe_mrkdwn(value["text"])}
    if kind == "markdown" and isinstance(value.get("text"), str):
        return {**value, "text": safe_markdown(value["text"])}
    if kind == "rich_text":
        return _safe_rich_element(value)
    return {key: safe_block(item) for key, item in value.items()}


# A stream chunk's strings that Slack turns into rich text for people, as it does markdown.
_CHUNK_TEXT = {"markdown_text": ("text",), "task_update": ("title", "details", "output"),
               "plan_update": ("title",)}  # fmt: skip


def _safe_chunk(chunk: Any) -> Any:
    if not isinstance(chunk, dict) or chunk.get("type") not in _CHUNK_TEXT:
        return safe_block(chunk)
    texts = {key: safe_markdown(chunk[key]) for key in _CHUNK_TEXT[chunk["type"]]
             if isinstance(chunk.get(key), str)}  # fmt: skip
    return {**chunk, **texts}


def safe_arguments(method: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments of one Slack write, made safe: no broadcast, links show their URL, new
    messages never unfurl. Arguments that are not text pass unchanged."""
    safe = {k: v for k, v in arguments.items() if k not in LINKING_ARGUMENTS}
    if isinstance(safe.get("text"), str):
        safe["text"] = safe_mrkdwn(safe["text"])
    if isinstance(safe.get("markdown_text"), str):
        safe["markdown_text"] = safe_markdown(safe["markdown_text"])
    for key in ("blocks", "attachments", "view"):
        if key in safe:
            safe[key] = safe_block(safe[key])
    if isinstance(safe.get("chunks"), list):
        safe["chunks"] = [_safe_chunk(chunk) for chunk in safe["chunks"]]
    if method in POSTING:
        safe["unfurl_links"], safe["unfurl_media"] = False, False
    return safe
