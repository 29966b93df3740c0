"""Approve and Reject clicks: acknowledge, authorize on the server, decide once, show it."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from agents import queries, service
from agents.approvals import DecisionOutcome, DecisionResult
from bot.blocks import APPROVE_ACTION, REJECT_ACTION, REJECT_MODAL, decided_card, reject_modal
from bot.deps import BotDeps
from bot.payloads import Click, parse_click


async def tell(deps: BotDeps, channel: str, user: str, text: str) -> None:
    """An ephemeral note to the person who clicked."""
    await deps.writer.call("chat.postEphemeral", channel=channel, user=user, text=text)


async def refusal(deps: BotDeps, click: Click) -> str | None:
    """Why this person may not decide on this card, or None."""
    record = await queries.approval_status(click.approval_id)
    if record is None:
        return "This button does not belong to any approval; nothing changed."
    card = await queries.card_of(click.approval_id)
    if card is not None and card != (click.channel, click.message_ts):
        return "This button does not belong to this card; nothing changed."
    if not await deps.approvers.may_approve(click.user):
        return f"You are not allowed to approve actions. Approvers: {deps.approvers.describe()}."
    return None


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
    deps: BotDeps, click: Click, approved: bool, reason: str | None, blocks: list[dict[str, Any]]
) -> None:
    """Submit the decision; report a refused one privately and change nothing."""
    result = await service.submit_decision(click.approval_id, approved, click.user, reason)
    if result.outcome is DecisionOutcome.ACCEPTED:
        await show_decision(deps, click.channel, click.message_ts, blocks, result, reason)
        return
    await tell(deps, click.channel, click.user, result.message)
    if result.outcome is not DecisionOutcome.UNKNOWN and blocks:
        await show_decision(deps, click.channel, click.message_ts, blocks, result, None)


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Listen to the card's buttons and the reject-reason modal."""

    @app.action(APPROVE_ACTION)
    async def on_approve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        click = parse_click(body)
        if click is None:
            return
        if (why := await refusal(deps, click)) is not None:
            await tell(deps, click.channel, click.user, why)
            return
        await decide(deps, click, True, None, click.blocks)

    @app.action(REJECT_ACTION)
    async def on_reject(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        click = parse_click(body)
        if click is None:
            return
        if (why := await refusal(deps, click)) is not None:
            await tell(deps, click.channel, click.user, why)
            return
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
        if (why := await refusal(deps, click)) is not None:
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
