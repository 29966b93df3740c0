"""The approval card: exactly what will run, the policy's reason, the risk, then the agent's
explanation (the only part that is ever cut); Approve (confirmed on critical) and Reject.

The preview is rich text, which Slack shows literally: every character that will run or be
written appears as itself, and nothing in it can format, mention or link.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from agents.events import ApprovalRequested
from bot.blocks import APPROVE_ACTION, REJECT_ACTION, RISK_ICON, clock
from bot.safe_text import mrkdwn_escape

MAX_SECTION = 3000  # Slack's limit for a section's text
PREVIEW_PIECE = 2900  # characters of the preview per block
MAX_PREVIEW_BLOCKS = 40  # with the card's other 7 blocks, within Slack's 50 per message
MAX_WHY = 1500  # the agent's explanation is what gets cut, never the policy or the preview
COMPACT_PREVIEW = 1500
CONFIRM_TEXT = 300  # Slack's limit for a confirm dialog's text


PREVIEW_LABELS = {"open_pull_request": "*Exactly what will be pushed and proposed*"}
"""The preview's heading where "what will run" is not what the call does."""


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _fit(escaped: str, limit: int) -> tuple[str, int]:
    """`escaped` mrkdwn cut to at most `limit` characters, never inside an entity; and how
    many characters of it were left out."""
    if len(escaped) <= limit:
        return escaped, 0
    cut = limit
    amp = escaped.rfind("&", max(0, cut - 5), cut)
    if amp != -1 and ";" not in escaped[amp:cut]:
        cut = amp
    return escaped[:cut], len(escaped) - cut


def visible(text: str) -> str:
    """`text` with every character a reader cannot see shown as `⟨U+XXXX⟩`: format
    characters (bidi overrides that reorder a line, zero-width characters, soft hyphens),
    controls other than newline and tab, and unassigned or private code points. bash runs
    those bytes; the approver must see that they are there."""
    return "".join(
        f"\u27e8U+{ord(c):04X}\u27e9"
        if unicodedata.category(c) in _INVISIBLE and c not in "\n\t"
        else c
        for c in text
    )


_INVISIBLE = frozenset({"Cf", "Cc", "Co", "Cn", "Cs", "Zl", "Zp"})


def preview_pieces(preview: str, size: int = PREVIEW_PIECE) -> list[str]:
    """The preview (invisible characters made `visible`) in pieces of at most `size`
    characters, cut after a newline where one is near; joined again they are the shown
    preview, character for character."""
    pieces: list[str] = []
    rest = visible(preview)
    while len(rest) > size:
        cut = rest.rfind("\n", size - 400, size)
        cut = size if cut == -1 else cut + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [*pieces, rest] if rest or not pieces else pieces


def _preformatted(text: str) -> dict[str, Any]:
    """Text shown exactly: rich text is literal (no mrkdwn, no mention, no link parsing)."""
    element = {
        "type": "rich_text_preformatted",
        "elements": [{"type": "text", "text": text or " "}],
    }
    return {"type": "rich_text", "elements": [element]}


def reason_parts(reason: str) -> tuple[str, str]:
    """(the model's explanation, the policy's reason): the workflow appends the policy's
    reason as the last line, `(policy: …)`."""
    head, marker, tail = reason.rpartition("(policy: ")
    if not marker or not tail.endswith(")") or "\n" in tail or (head and not head.endswith("\n")):
        return reason, ""
    return head.rstrip("\n"), tail[:-1]


def _risk_line(request: ApprovalRequested, note: str = "") -> dict[str, Any]:
    icon = RISK_ICON.get(request.risk, ":grey_question:")
    return _section(f"{icon} *Approval needed:* `{mrkdwn_escape(request.tool_name)}` — "
                    f"*risk: {mrkdwn_escape(request.risk)}*{note}")  # fmt: skip


def _policy_block(policy: str) -> dict[str, Any]:
    text, _ = _fit(mrkdwn_escape(policy or "no policy reason recorded"), MAX_SECTION - 40)
    return _section(f"*Policy:* {text}")


def approval_card(request: ApprovalRequested) -> list[dict[str, Any]]:
    """What will run (every character, split over blocks), the policy's reason, the risk, the
    agent's explanation (cut first), until when; Approve (confirm on critical) and Reject."""
    explanation, policy = reason_parts(request.reason)
    pieces = preview_pieces(request.preview)
    blocks = [_risk_line(request), _policy_block(policy)]
    shown = pieces[:MAX_PREVIEW_BLOCKS]
    what = PREVIEW_LABELS.get(request.tool_name, "*Exactly what will run*")
    label = what + (f" (in {len(shown)} parts)" if len(shown) > 1 else "")
    blocks += [_section(label), *(_preformatted(piece) for piece in shown)]
    if len(pieces) > len(shown):
        left = sum(len(p) for p in pieces[len(shown) :])
        blocks.append(
            _section(
                f":warning: *The preview is cut:* {left:,} more characters are "
                "not shown on this card. Do not approve what you have not seen."
            )
        )
    why, left_out = _fit(mrkdwn_escape(explanation or "no explanation given"), MAX_WHY)
    more = f"\n_… ({left_out:,} more characters of the agent's text not shown)_" if left_out else ""
    by = f" for <@{request.requester}>" if request.requester else ""
    return [
        *blocks,
        _section(f"*The agent says:* {why}{more}"),
        _context(f"asked by the {request.agent} agent{by} · expires {clock(request.expires_at)}"),
        _approval_buttons(request),
    ]  # fmt: skip


def compact_approval_card(request: ApprovalRequested) -> list[dict[str, Any]]:
    """The card when the full one could not be posted: risk, policy, the start of the preview
    (saying plainly how much is not shown), and the same buttons."""
    _, policy = reason_parts(request.reason)
    first = request.preview[:COMPACT_PREVIEW]
    left = len(request.preview) - len(first)
    note = (f" {left:,} more characters of the preview are not shown: do not approve what you "
            "have not seen." if left else "")  # fmt: skip
    return [
        _risk_line(request, f", expires {clock(request.expires_at)}. "
                            f"(The full card could not be posted.){note}"),
        _policy_block(policy),
        _preformatted(first or " "),
        _approval_buttons(request),
    ]  # fmt: skip


def _confirm_text(request: ApprovalRequested) -> str:
    """What the Approve confirm dialog says will run (plain text: shown as typed)."""
    head = f"This runs {request.tool_name}:\n"
    room = CONFIRM_TEXT - len(head)
    preview = visible(request.preview)
    if len(preview) <= room:
        return head + preview
    tail = "\n… (the rest is on the card)"
    return head + preview[: room - len(tail)] + tail


def _approval_buttons(request: ApprovalRequested) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"approval:{request.approval_id}",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "style": "primary",
                "value": request.approval_id,
                "text": {"type": "plain_text", "text": "Approve"},
                **({"confirm": _approve_confirm(request)} if request.risk == "critical" else {}),
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "style": "danger",
                "value": request.approval_id,
                "text": {"type": "plain_text", "text": "Reject"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Reject this action?"},
                    "text": {"type": "mrkdwn", "text": "Nothing will run; the agent is told."},
                    "confirm": {"type": "plain_text", "text": "Reject"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                    "style": "danger",  # a confirm's button is green unless it says danger
                },
            },
        ],
    }


def _approve_confirm(request: ApprovalRequested) -> dict[str, Any]:
    return {
        "title": {"type": "plain_text", "text": "Approve a critical action?"},
        "text": {"type": "plain_text", "text": _confirm_text(request)},
        "confirm": {"type": "plain_text", "text": "Approve and run"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
