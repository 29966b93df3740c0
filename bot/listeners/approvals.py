"""Approve and Reject clicks: acknowledge, authorize on the server, decide once, show it."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from agents import audit, queries, service
from agents.approvals import DecisionOutcome, DecisionResult
from bot.blocks import (
    APPROVE_ACTION,
    REJECT_ACTION,
    REJECT_MODAL,
    clock,
    decided_card,
    reject_modal,
)
from bot.deps import BotDeps
from bot.payloads import Click, parse_click


async def tell(deps: BotDeps, channel: str, user: str, text: str) -> None:
    """An ephemeral note to the person who clicked."""
    await deps.writer.call("chat.postEphemeral", channel=channel, user=user, text=text)


async def refusal(deps: BotDeps, click: Click, approving: bool) -> tuple[str | None, int]:
    """Why this person may not decide on this card (audited), or None; and approvals needed."""
    record = await queries.approval_status(click.approval_id)
    why: str | None = None
    needed = 1
    if record is None:
        why = "This button does not belong to any approval; nothing changed."
    elif (card := await queries.card_of(click.approval_id)) is not None and card != (
        click.channel, click.message_ts,
    ):  # fmt: skip
        why = "This button does not belong to this card; nothing changed."
    else:
        check = await deps.approvers.check(click.user, click.channel, record, approving)
        needed = check.approvals_needed
        if not check.allowed:
            approvers = deps.approvers.describe(click.channel)
            why = f"You can't decide this: {check.reason}. Approvers: {approvers}."
    if why is not None:
        await audit.record(action="approve" if approving else "reject", outcome="refused",
                           actor=click.user, approval_id=click.approval_id if record else None,
                           detail=why)  # fmt: skip
    return why, needed


async def show_decision(
    deps: BotDeps, channel: str, ts: str, blocks: list[dict[str, Any]], result: DecisionResult,
    reason: str | None,
) -> None:  # fmt: skip
    """Replace the buttons with who decided and when."""
    status = result.status or "unknown"
    updated = decided_card(blocks, status, result.decided_by, time.time(), reason)
    await deps.writer.call("chat.update", channel=channel, ts=ts, text=f"Approval {status}",
                           blocks=updated)  # fmt: skip


async def decide(
    deps: BotDeps, click: Click, approved: bool, reason: str | None,
    blocks: list[dict[str, Any]], needed: int = 1,
) -> None:  # fmt: skip
    """Submit the decision; report a refused one privately and change nothing."""
    result = await service.submit_decision(
        click.approval_id, approved, click.user, reason, approvals_needed=needed
    )
    if result.outcome is DecisionOutcome.ACCEPTED:
        await show_decision(deps, click.channel, click.message_ts, blocks, result, reason)
        return
    if result.outcome is DecisionOutcome.PARTIAL:
        await show_first_approval(deps, click, blocks)
        return
    await tell(deps, click.channel, click.user, result.message)
    if result.outcome is not DecisionOutcome.UNKNOWN and blocks:
        await show_decision(deps, click.channel, click.message_ts, blocks, result, None)


async def show_first_approval(deps: BotDeps, click: Click, blocks: list[dict[str, Any]]) -> None:
    """Keep the buttons and say who approved first (two-person rule)."""
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f":one: Approved by <@{click.user}> at {clock(time.time())}; a second, different "
            "approver is needed"}]}  # fmt: skip
    kept = [b for b in blocks if ":one:" not in str(b)]
    actions = [i for i, b in enumerate(kept) if b.get("type") == "actions"]
    at = actions[0] if actions else len(kept)
    updated = [*kept[:at], note, *kept[at:]]
    await deps.writer.call("chat.update", channel=click.channel, ts=click.message_ts,
                           text="First approval recorded", blocks=updated)  # fmt: skip


async def allowed_click(
    deps: BotDeps, body: dict[str, Any], approving: bool
) -> tuple[Click, int] | None:
    """The click and the approvals it needs, or None (after telling the person why not)."""
    click = parse_click(body)
    if click is None:
        return None
    why, needed = await refusal(deps, click, approving)
    if why is not None:
        await tell(deps, click.channel, click.user, why)
        return None
    return click, needed


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Listen to the card's buttons and the reject-reason modal."""

    @app.action(APPROVE_ACTION)
    async def on_approve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (allowed := await allowed_click(deps, body, approving=True)) is not None:
            click, needed = allowed
            await decide(deps, click, True, None, click.blocks, needed)

    @app.action(REJECT_ACTION)
    async def on_reject(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        allowed = await allowed_click(deps, body, approving=False)
        if allowed is None:
            return
        click = allowed[0]
        try:
            await deps.writer.call("views.open", trigger_id=click.trigger_id,
                                   view=reject_modal(click.approval_id, click.channel,
                                                     click.message_ts))  # fmt: skip
        except SlackApiError:
            await decide(deps, click, False, None, click.blocks)  # no modal: reject without reason

    @app.view(REJECT_MODAL)
    async def on_reject_reason(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        approval_id, channel, card_ts = str(view.get("private_metadata", "")).split("|")
        values = view.get("state", {}).get("values", {})
        reason = (values.get("reason", {}).get("reason", {}).get("value") or "").strip() or None
        click = Click(user=body["user"]["id"], team=deps.team, approval_id=approval_id,
                      channel=channel, message_ts=card_ts, trigger_id="", blocks=[])  # fmt: skip
        why, _ = await refusal(deps, click, approving=False)
        if why is not None:
            await tell(deps, channel, click.user, why)
            return
        blocks = await card_blocks(deps, channel, card_ts)
        await decide(deps, click, False, reason, blocks)


async def card_blocks(deps: BotDeps, channel: str, ts: str) -> list[dict[str, Any]]:
    """The card's current blocks, read back from Slack."""
    try:
        replies = await deps.writer.call("conversations.replies", channel=channel, ts=ts,
                                         latest=ts, inclusive=True, limit=1)  # fmt: skip
    except SlackApiError:
        return []
    for message in replies.get("messages") or []:
        if message.get("ts") == ts:
            return list(message.get("blocks") or [])
    return []
