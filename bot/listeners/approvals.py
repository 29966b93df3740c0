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


async def tell(
    deps: BotDeps, channel: str, user: str, text: str, thread_ts: str | None = None
) -> None:
    """An ephemeral note to the person who clicked, in the card's thread when it has one.

    https://api.slack.com/methods/chat.postEphemeral: `thread_ts` places it in the thread.
    """
    where = {"thread_ts": thread_ts} if thread_ts else {}
    await deps.writer.call("chat.postEphemeral", channel=channel, user=user, text=text, **where)


def card_thread(body: dict[str, Any]) -> str | None:
    """The thread the clicked card is in (`container.thread_ts` of a block_actions payload)."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    thread = container.get("thread_ts") or message.get("thread_ts")
    return str(thread) if thread else None


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
            who = await deps.approvers.describe(click.channel, excluding=click.user)
            why = f"You can't decide this: {check.reason}. {who}"
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
    blocks: list[dict[str, Any]], needed: int = 1, thread_ts: str | None = None,
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
    await tell(deps, click.channel, click.user, result.message, thread_ts)
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
        await tell(deps, click.channel, click.user, why, card_thread(body))
        return None
    return click, needed


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Listen to the card's buttons and the reject-reason modal."""

    @app.action(APPROVE_ACTION)
    async def on_approve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (allowed := await allowed_click(deps, body, approving=True)) is not None:
            click, needed = allowed
            await decide(deps, click, True, None, click.blocks, needed, card_thread(body))

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
            # no modal: reject without a reason
            await decide(deps, click, False, None, click.blocks, thread_ts=card_thread(body))

    @app.view(REJECT_MODAL)
    async def on_reject_reason(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        approval_id, channel, card_ts = str(view.get("private_metadata", "")).split("|")
        values = view.get("state", {}).get("values", {})
        reason = (values.get("reason", {}).get("reason", {}).get("value") or "").strip() or None
        click = Click(user=body["user"]["id"], team=deps.team, approval_id=approval_id,
                      channel=channel, message_ts=card_ts, trigger_id="", blocks=[])  # fmt: skip
        card = await card_message(deps, channel, card_ts)
        thread = str(card["thread_ts"]) if card.get("thread_ts") else None
        why, _ = await refusal(deps, click, approving=False)
        if why is not None:
            await tell(deps, channel, click.user, why, thread)
            return
        blocks = list(card.get("blocks") or [])
        await decide(deps, click, False, reason, blocks, thread_ts=thread)


async def card_message(deps: BotDeps, channel: str, ts: str) -> dict[str, Any]:
    """The card as Slack holds it now (its blocks and thread), or {} when it cannot be read."""
    try:
        replies = await deps.writer.call("conversations.replies", channel=channel, ts=ts,
                                         latest=ts, inclusive=True, limit=1)  # fmt: skip
    except SlackApiError:
        return {}
    for message in replies.get("messages") or []:
        if message.get("ts") == ts:
            return dict(message)
    return {}
