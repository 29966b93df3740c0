"""Getting an approval card into the thread even when Slack refuses it for a while.

A run waiting on a card nobody can see waits until the approval expires, so a failed post is
retried, then replaced by a compact card (a refusal of the content, such as `invalid_blocks`
or `msg_too_long`, goes straight to it), and when no card can be posted at all, a plain note
says so: nothing runs without the approval either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from agents.events import ApprovalRequested
from bot.approval_blocks import approval_card, compact_approval_card, reason_parts
from bot.blocks import clock
from core.redact import Redactor

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (1.0, 3.0, 8.0)  # before the 2nd, 3rd and 4th attempt
CONTENT_ERRORS = frozenset(
    {"invalid_blocks", "msg_too_long", "invalid_blocks_format", "msg_blocks_too_long"}
)
# Nothing can be posted in this channel: retrying or a smaller card would not help.
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived",
                            "invalid_auth", "account_inactive", "token_revoked"})  # fmt: skip

Post = Callable[[str, list[dict[str, Any]] | None], Awaitable[str]]


def _code(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "error")
    return type(error).__name__


def card_texts(redactor: Redactor, request: ApprovalRequested) -> dict[str, str]:
    """The preview and reason a card may show: a secret *value* in the preview or the policy's
    reason may be masked, never code (`mask_preview`); the agent's own words are redacted."""
    explanation, policy = reason_parts(request.reason)
    reason = redactor.redact(explanation)
    if policy:
        reason = f"{reason}\n(policy: {redactor.mask_preview(policy)})"
    return {"preview": redactor.mask_preview(request.preview), "reason": reason}


async def deliver_card(
    post: Post, request: ApprovalRequested, delays: tuple[float, ...] = RETRY_DELAYS_S
) -> tuple[str, list[dict[str, Any]]] | None:
    """Post the card for `request` (already redacted): (its ts, its blocks), or None when only
    the note saying why could be posted (or not even that)."""
    text = f"Approval needed: {request.tool_name}"
    blocks = approval_card(request)
    failure = "no attempt"
    for attempt in range(len(delays) + 1):
        if attempt:
            await asyncio.sleep(delays[attempt - 1])
        if attempt >= 2:
            blocks = compact_approval_card(request)
        try:
            return await post(text, blocks), blocks
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            failure = _code(error)
            log.warning("approval card %s not posted (attempt %d): %s", request.approval_id,
                        attempt + 1, failure)  # fmt: skip
            if failure in CHANNEL_ERRORS:
                return None
            if failure in CONTENT_ERRORS:
                blocks = compact_approval_card(request)
    note = (
        f":warning: I need approval to run `{request.tool_name}` ({request.risk} risk), but "
        f"Slack refused its card ({failure}). Nothing runs without it; the request expires at "
        f"{clock(request.expires_at)}. `/opsbot status` shows it waiting."
    )
    try:
        await post(note, None)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
        log.error("approval %s: neither a card nor a note could be posted (%s)",
                  request.approval_id, _code(error))  # fmt: skip
    return None
