"""Slack's limits on what one write may carry, with the error codes Slack answers them with.

Sources (docs.slack.dev):
- `text` of a posted message: up to 40,000 characters; chat.postMessage and
  chat.postEphemeral truncate a longer text, post it anyway and warn `message_truncated`
  (api.slack.com/changelog/2018-04-truncating-really-long-messages); chat.update refuses it
  with `msg_too_long` (reference/methods/chat.update).
- `markdown_text` (and markdown chunks) of chat.startStream / appendStream / stopStream: "Limit
  this field to 12,000 characters" (reference/methods/chat.startStream); a longer one is
  refused `msg_too_long`.
- chat.startStream outside a DM requires `recipient_user_id` and `recipient_team_id`
  ("Required when streaming to channels"): `missing_recipient_user_id`,
  `missing_recipient_team_id`. `recipient_team_id` is "the ID of the team that is associated
  with recipient_user_id" (a Slack Connect partner's own organisation); Slack documents no
  code for another team, so the local workspace answers `invalid_arguments`.
  chat.appendStream / stopStream require `channel` and `ts`.
- Blocks: 50 per message, 100 per modal or App Home (reference/block-kit/blocks), 3,000
  characters per section text, 2,000 per field (validated in sandbox/slack/blocks.py); the
  cumulative limit for all `markdown` blocks of one payload is 12,000 characters
  (reference/block-kit/blocks/markdown-block): `msg_blocks_too_long`.

Every refusal and truncation is also recorded in `Violations`, so a test can assert that the
bot never met a limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.blocks import MAX_BLOCKS, validate_blocks

MAX_TEXT = 40_000
MAX_STREAM_MARKDOWN = 12_000
MAX_MARKDOWN_BLOCKS = 12_000
TRUNCATING = frozenset({"chat.postMessage", "chat.postEphemeral"})
STREAM_START = "chat.startStream"


class ApiError(Exception):
    """A Slack error answer: `{"ok": false, "error": code}` (plus extra fields)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class Violations:
    """Every limit a write met: refused (`error`) or truncated (`warning`)."""

    seen: list[dict[str, Any]] = field(default_factory=list)

    def note(self, method: str, kind: str, code: str, size: int) -> None:
        """Record one."""
        self.seen.append({"method": method, "kind": kind, "code": code, "size": size})


def is_direct_message(channel_id: str) -> bool:
    """Slack's DM conversation ids start with D."""
    return channel_id.startswith("D")


def checked_text(method: str, text: str, violations: Violations) -> tuple[str, list[str]]:
    """(the text Slack keeps, warnings) for a message's `text`; raises `msg_too_long` where
    Slack refuses instead of truncating."""
    if len(text) <= MAX_TEXT:
        return text, []
    if method in TRUNCATING:
        violations.note(method, "warning", "message_truncated", len(text))
        return text[:MAX_TEXT], ["message_truncated"]
    violations.note(method, "error", "msg_too_long", len(text))
    raise ApiError("msg_too_long")


def check_stream_markdown(method: str, text: str, violations: Violations) -> None:
    """`markdown_text` plus markdown chunks of one streaming call: at most 12,000."""
    if len(text) > MAX_STREAM_MARKDOWN:
        violations.note(method, "error", "msg_too_long", len(text))
        raise ApiError("msg_too_long")


def check_stream_recipient(
    channel_id: str, args: dict[str, Any], violations: Violations, team_of: Callable[[str], str]
) -> None:
    """chat.startStream outside a DM names the user it streams to and that user's own team
    (`team_of(user)`: a Slack Connect partner's organisation, else the workspace's)."""
    if is_direct_message(channel_id):
        return
    for name in ("recipient_user_id", "recipient_team_id"):
        if not str(args.get(name) or ""):
            violations.note(STREAM_START, "error", f"missing_{name}", 0)
            raise ApiError(f"missing_{name}")
    user, team = str(args["recipient_user_id"]), str(args["recipient_team_id"])
    if team != team_of(user):
        violations.note(STREAM_START, "error", "invalid_arguments", 0)
        raise ApiError("invalid_arguments",
                       detail=f"recipient_team_id {team} is not the team of {user}")  # fmt: skip


def check_blocks(method: str, blocks: Any, violations: Violations, limit: int = MAX_BLOCKS) -> None:
    """Block Kit validity and counts (`invalid_blocks`), then the markdown blocks' total."""
    if errors := validate_blocks(blocks, limit=limit):
        size = len(blocks) if isinstance(blocks, list) else 0
        violations.note(method, "error", "invalid_blocks", size)
        raise ApiError("invalid_blocks", errors=errors)
    total = sum(
        len(str(block.get("text") or ""))
        for block in blocks
        if isinstance(block, dict) and block.get("type") == "markdown"
    )
    if total > MAX_MARKDOWN_BLOCKS:
        violations.note(method, "error", "msg_blocks_too_long", total)
        raise ApiError("msg_blocks_too_long")


def require(args: dict[str, Any], *names: str) -> None:
    """Slack's answer to a call without a required argument."""
    for name in names:
        if args.get(name) in (None, ""):
            raise ApiError("invalid_arguments", detail=f"{name} is required")
