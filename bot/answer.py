"""The final message of a run: what of the answer the thread does not show yet, and the footer.

The answer's text streamed into the live messages as the model wrote it, so the final message
repeats none of it: it carries only the paragraphs the thread does not show (a note that the
run stopped, an answer whose stream Slack refused, or one streamed by a process that died)
and the footer. An answer longer than one message is split at sensible boundaries into
several messages (bot/text_split.py), none of it dropped.
"""

from __future__ import annotations

import re
from typing import Any

from agents.events import RunFinished
from bot import text_split
from bot.blocks import footer_block, footer_text

# Markdown per message: under the 12,000 characters all markdown blocks of one payload may
# hold together, with room for what bot/safe_text.py adds on the way out.
ANSWER_PIECE = 11_000
_SPACE = re.compile(r"\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _flat(text: str) -> str:
    """Text as compared: whitespace runs as one space, code fences aside (a long code block
    is closed and opened again where it rolls into a new message)."""
    return _SPACE.sub(" ", text.replace(text_split.FENCE, " ")).strip()


def unshown_part(answer: str, shown: str) -> str:
    """The paragraphs of `answer` that `shown` (the text the thread already shows) does not
    contain, whitespace and code fences aside, in their order; "" when all of it is shown."""
    seen = _flat(shown)
    missing = [p for p in _PARAGRAPH.split(answer) if _flat(p) and _flat(p) not in seen]
    return "\n\n".join(p.strip("\n") for p in missing)


def final_messages(event: RunFinished, rest: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """(fallback text, blocks) of each message that ends a run: `rest` of the answer as
    Markdown in as many messages as it needs, the footer on the last one."""
    footer = footer_text(event)
    pieces = text_split.split(rest.strip(), ANSWER_PIECE)
    if not pieces:
        return [(footer, [footer_block(event)])]
    messages: list[tuple[str, list[dict[str, Any]]]] = [
        (piece, [{"type": "markdown", "text": piece}]) for piece in pieces
    ]
    last_text, last_blocks = messages[-1]
    messages[-1] = (f"{last_text}\n{footer}", [*last_blocks, footer_block(event)])
    return messages
