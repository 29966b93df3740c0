"""Block Kit builders: pure functions from run data to the blocks people see."""

from __future__ import annotations

import time
from typing import Any

from agents.audit import AuditEntry
from agents.events import RunFinished
from agents.outcomes import words as outcome_words
from agents.pricing import cached_share
from agents.queries import Overview, PendingApproval, RunSummary, StepLine, elapsed, trace_id_hex
from agents.run_steps import run_status_words, waterfall
from bot.text_split import SECTION_TEXT_MAX, VIEW_BLOCKS_MAX, bounded_lines

APPROVE_ACTION = "opsbot_approve"
REJECT_ACTION = "opsbot_reject"
REJECT_MODAL = "opsbot_reject_reason"
MAX_PREVIEW = 2600
MAX_REASON = 2000  # a decision line's reason: a context element holds 3,000 characters
RISK_ICON = {"write": ":pencil2:", "critical": ":rotating_light:", "read": ":mag:"}
OUTCOME_ICON = {"succeeded": ":white_check_mark:", "limited": ":warning:", "failed": ":x:",
                "declined": ":no_entry:", "no_answer": ":x:", "not_fixed": ":warning:",
                "needs_input": ":speech_balloon:", "rejected": ":no_entry_sign:",
                "expired": ":hourglass:", "cancelled": ":no_entry_sign:"}  # fmt: skip


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _list_section(title: str, lines: list[str], empty: str) -> dict[str, Any]:
    """A titled list within a section's 3,000 characters: lines that do not fit are counted."""
    room = SECTION_TEXT_MAX - len(title) - 1
    return _section(f"{title}\n{bounded_lines(lines, room) if lines else empty}")


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def clock(epoch: float) -> str:
    """14:02 UTC."""
    return time.strftime("%H:%M UTC", time.gmtime(epoch))


def truncated(text: str, limit: int) -> str:
    """`text`, cut at `limit` with a note saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters not shown)"


def decided_card(
    blocks: list[dict[str, Any]], status: str, by: str | None, at: float, reason: str | None
) -> list[dict[str, Any]]:
    """The card with its buttons replaced by the decision."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    if status == "approved":
        line = f":white_check_mark: Approved by <@{by}> at {clock(at)}"
    elif status == "rejected":
        why = f": {truncated(reason, MAX_REASON)}" if reason else ""
        line = f":no_entry: Rejected by <@{by}> at {clock(at)}{why}"
    elif status == "expired":
        line = ":hourglass: Expired without a decision; nothing ran"
    else:
        line = f"{status} at {clock(at)}"
    return [*kept, _context(line)]


MAX_REASON = 300


def routed_line(agent: str, reason: str) -> str:
    """The line that says which agent took the turn and why: one line whatever the router
    wrote (no line breaks, no code fence that would swallow the text after it, at most
    `MAX_REASON` characters of reason)."""
    reason = " ".join(reason.replace("```", "`").split())
    if len(reason) > MAX_REASON:
        reason = reason[:MAX_REASON].rsplit(" ", 1)[0] + " …"
    return f":compass: *{agent}* — {reason}"


def footer_text(event: RunFinished) -> str:
    """Outcome, duration, tokens and cost."""
    icon = OUTCOME_ICON.get(event.outcome, ":grey_question:")
    limit = f" ({event.limit})" if event.limit else ""
    if event.stopped_by:
        limit = f" by <@{event.stopped_by}>"
    return (
        f"{icon} {outcome_words(event.outcome)}{limit} · {event.duration_s:.1f}s · "
        f"{event.input_tokens:,} in{cached_share(event.cache_read_tokens, event.input_tokens)}"
        f" / {event.output_tokens:,} out tokens · ${event.cost_usd:.4f}"
    )


def footer_block(event: RunFinished) -> dict[str, Any]:
    """The footer as the last block of a run's final message."""
    return _context(footer_text(event))


def permalink(domain: str | None, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """A link to a message; to a reply when `thread_ts` is its thread's root, in the shape
    chat.getPermalink gives replies (`?thread_ts=…&cid=…`), so clients open the thread."""
    host = f"https://{domain}.slack.com" if domain else "https://slack.com"
    link = f"{host}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


def _about(about: str, channel: str | None, requester: str | None) -> str:
    """What a run is about: its request's first words, where, and who asked."""
    what = f"“{about}”" if about else "a request"
    where = f" in <#{channel}>" if channel else ""
    who = f" from <@{requester}>" if requester else ""
    return f"{what}{where}{who}"


def _run_line(run: RunSummary, domain: str | None) -> str:
    link = f"<{permalink(domain, run.channel, run.thread_ts)}|thread>"
    if run.resumed_count:
        link += f", resumed after restart ({run.resumed_count}x)"
    agent = run.agents[-1] if run.agents else "routing"
    about = _about(run.about, run.channel, run.requester)
    if run.finished_at is None:
        return f"• {about}: {agent}, started {elapsed(run.started_at)} ago ({link}) `{run.run_id}`"
    tokens = run.input_tokens + run.output_tokens
    took = run.finished_at - run.started_at
    return (f"• {about}: {OUTCOME_ICON.get(run.status, '')} {outcome_words(run.status)} "
            f"{elapsed(run.finished_at)} ago, took {took:.1f}s, {tokens:,} tokens, "
            f"${run.cost_usd:.4f} ({link}) `{run.run_id}`")  # fmt: skip


def status_blocks(view: Overview, domain: str | None, scope: str) -> list[dict[str, Any]]:
    """Running, waiting, queued and recently finished runs."""
    blocks: list[dict[str, Any]] = [_section(f"*opsbot status* for {scope}")]
    running = [_run_line(r, domain) for r in view.running if r.status == "running"]
    blocks.append(_list_section("*Running*", running, "nothing"))
    waiting_lines = [_waiting_line(a, domain) for a in view.waiting]
    blocks.append(_list_section("*Waiting for approval*", waiting_lines, "nothing"))
    blocks.append(_list_section("*Queued*", [f"• `{q}`" for q in view.queued], "nothing"))
    finished = [_run_line(r, domain) for r in view.finished]
    blocks.append(_list_section("*Finished*", finished, "nothing yet"))
    return blocks


def run_blocks(
    run: RunSummary, steps: list[StepLine], decisions: list[AuditEntry] | None = None
) -> list[dict[str, Any]]:
    """One run: status in words, trace id, its steps as a text waterfall in words (the page's
    run panel uses the same labels, agents/run_steps.py; a wait for approval hatched at a
    fixed width with its real length), and its audited decisions."""
    audit_lines = [
        f"• {clock(d.at)} {d.action} `{d.tool_name or '-'}` by "
        f"{f'<@{d.actor}>' if d.actor else 'opsbot'}: {d.outcome}"
        for d in reversed(decisions or [])
    ]
    waiting = run.status == "waiting_approval"  # DBOS records the wait once it ends
    resumed = f", resumed after restart ({run.resumed_count}x)" if run.resumed_count else ""
    return [
        _section(f"*Run* {_about(run.about, run.channel, run.requester)} `{run.run_id}`: "
                 f"{run_status_words(run.status)}{resumed}, agents: "
                 f"{', '.join(run.agents) or '-'}\ntrace `{trace_id_hex(run.run_id)}`"),
        _section(f"```{truncated(waterfall(steps, waiting), MAX_PREVIEW)}```"),
        _list_section(f"*Decisions* (full log: `opsbot audit --run {run.run_id}`)",
                      audit_lines, "none"),
    ]  # fmt: skip


HELP = (
    "*opsbot* — mention me in a channel to start an investigation; reply in the thread to "
    "continue.\n"
    "• `/opsbot status` — runs in this channel: running, waiting for approval, queued, finished\n"
    "• `/opsbot status <run id or thread link>` — one run, step by step\n"
    "• `/opsbot cancel <run id>` — stop a run (approvers only)\n"
    "• `/opsbot help` — this text"
)


def reject_modal(approval_id: str, channel: str, card_ts: str) -> dict[str, Any]:
    """The modal that asks why an action is rejected (the agent reads the reason)."""
    return {
        "type": "modal",
        "callback_id": REJECT_MODAL,
        "private_metadata": f"{approval_id}|{channel}|{card_ts}",
        "title": {"type": "plain_text", "text": "Reject"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Why? (the agent reads this)"},
                "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True},
            },
        ],
    }


def _card_link(domain: str | None, approval: PendingApproval) -> str:
    """ " (card)" linking the approval's card in its thread, or "" before it is posted."""
    if not (approval.card_ts and approval.card_channel):
        return ""
    link = permalink(domain, approval.card_channel, approval.card_ts, approval.thread_ts)
    return f" (<{link}|card>)"


def _waiting_line(approval: PendingApproval, domain: str | None) -> str:
    """One waiting approval: tool, risk, what its run is about, how long, its card, its run."""
    a = approval
    return (f"• `{a.tool_name}` ({a.risk}) for {_about(a.about, a.card_channel, a.requester)},"
            f" waiting {elapsed(a.created_at)}{_card_link(domain, a)} `{a.run_id}`")  # fmt: skip


def home_view(mine: list[PendingApproval], view: Overview, domain: str | None) -> dict[str, Any]:
    """App Home: the approvals this person may decide first, then the workspace overview."""
    pending = [_waiting_line(a, domain) for a in mine]
    blocks = [_list_section("*Waiting for your approval*", pending, "none"), {"type": "divider"},
              *status_blocks(view, domain, "this workspace")]  # fmt: skip
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS_MAX]}
