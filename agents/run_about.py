"""What a run is about, in a few words: the start of the request that started it."""

from __future__ import annotations

import re

from dbos import DBOS

ABOUT_WORDS = 8
_LABELLED = re.compile(r"<(?:https?://|mailto:|#C)[^|>]*\|([^>]*)>")  # <url|label>, <#C1|name>
_MARKUP = re.compile(r"<[^>]*>")


def first_words(text: str, words: int = ABOUT_WORDS) -> str:
    """The first `words` words of a request as plain text: what a status line calls the run.

    Slack's `<...>` references keep only their label (a link's, a channel's); mentions and
    broadcasts are dropped, so the words can ping nobody wherever they are shown. Reference
    forms: https://docs.slack.dev/messaging/formatting-message-text ("Advanced formatting").
    """
    plain = _MARKUP.sub(" ", _LABELLED.sub(r" \1 ", text))
    found = plain.replace("<", " ").replace(">", " ").split()
    return " ".join(found[:words]) + (" …" if len(found) > words else "")


async def requests_of(run_ids: list[str]) -> dict[str, str]:
    """The first words of each run's request, read from its workflow input.

    `run_thread_turn(thread, message)`'s message: a run still going has no stored conversation
    yet. Runs DBOS does not know are left out.
    """
    if not run_ids:
        return {}
    found: dict[str, str] = {}
    for status in await DBOS.list_workflows_async(workflow_ids=run_ids, load_output=False):
        args = status.input["args"] if status.input else ()
        text = getattr(args[1], "text", None) if len(args) > 1 else None
        if isinstance(text, str):
            found[status.workflow_id] = first_words(text)
    return found
