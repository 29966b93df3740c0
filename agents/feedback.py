"""Feedback on answers: a person's 👍 / 👎 on a run (a comment on 👎): stored, audited, exported.

One row per run and voter (`opsbot_feedback`): a second vote by the same person replaces the
first. Every vote is an audit row (action "feedback", outcome the vote) and an OpenTelemetry
signal: the counter `opsbot.feedback` (attribute `opsbot.feedback.vote`) and a span
`opsbot.feedback` in the run's trace with an event per vote or comment. A 👎's audit row
names the command that turns the run into an eval case. A vote on an unknown run stores
nothing. Slack side: bot/listeners/feedback.py (Block Kit `feedback_buttons`,
docs.slack.dev/reference/block-kit/block-elements/feedback-buttons-element).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agents import audit
from agents.runtime import current_engine
from agents.tracing import step_span
from core.models import FeedbackRow, RunRow
from core.redaction.redactor import redact

log = logging.getLogger(__name__)

Vote = Literal["up", "down"]
VOTES: tuple[str, ...] = get_args(Vote)
MAX_COMMENT = 2000
"""Characters of a comment kept (the modal's input allows as many)."""
ATTEMPTS = 3
"""Transactions tried for one vote: two first votes of one person racing each other both
insert; the loser's unique-key error is retried, and then finds the row to replace."""


class FeedbackOutcome(enum.Enum):
    """What became of a vote or comment."""

    RECORDED = "recorded"
    REPLACED = "replaced"
    UNKNOWN_RUN = "unknown_run"


class FeedbackResult(BaseModel):
    """The outcome and, for a replaced vote, the vote it replaced."""

    model_config = ConfigDict(frozen=True)

    outcome: FeedbackOutcome
    previous: str | None = None


class FeedbackCounts(BaseModel):
    """👍 and 👎 votes on one run."""

    model_config = ConfigDict(frozen=True)

    up: int = 0
    down: int = 0


class FeedbackVote(BaseModel):
    """One stored vote as people read it."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    voter: str
    vote: str
    comment: str | None
    updated_at: float


def capture_command(run_id: str) -> str:
    """The command that writes an eval case from the run (evals/: `opsbot eval capture`)."""
    return f"opsbot eval capture {run_id}"


def _detail(run_id: str, vote: str, comment: str | None) -> str | None:
    parts = [f"comment: {comment}"] if comment else []
    if vote == "down":
        parts.append(f"capture it as an eval case: {capture_command(run_id)}")
    return "; ".join(parts) or None


def _store(
    session: Session, run_id: str, voter: str, vote: str, comment: str | None, audit_outcome: str,
    thread_id: str | None,
) -> FeedbackResult:  # fmt: skip
    """Upsert the (run, voter) row and audit it, in the caller's transaction. Without a new
    comment, a repeated vote keeps its comment and a changed one drops it. A run of another
    thread than `thread_id` (when given) counts as unknown."""
    run = session.get(RunRow, run_id)
    if run is None or (thread_id is not None and run.thread_id != thread_id):
        return FeedbackResult(outcome=FeedbackOutcome.UNKNOWN_RUN)
    now = time.time()
    row = session.get(FeedbackRow, (run_id, voter))
    previous = row.vote if row is not None else None
    if row is None:
        row = FeedbackRow(run_id=run_id, voter=voter, vote=vote, comment=comment,
                          created_at=now, updated_at=now)  # fmt: skip
        session.add(row)
    else:
        if comment is not None or row.vote != vote:
            row.comment = comment
        row.vote, row.updated_at = vote, now
    audit.add(session, action="feedback", outcome=audit_outcome, actor=voter, run_id=run_id,
              detail=_detail(run_id, vote, comment))  # fmt: skip
    if previous is None:
        return FeedbackResult(outcome=FeedbackOutcome.RECORDED)
    return FeedbackResult(outcome=FeedbackOutcome.REPLACED, previous=previous)


def _export(run_id: str, voter: str, vote: str, event: str, result: FeedbackResult,
            comment_chars: int = 0) -> None:  # fmt: skip
    """The OpenTelemetry side of a stored vote or comment (counter, span event)."""
    telemetry = current_engine().telemetry
    attributes = {"opsbot.feedback.vote": vote}
    if event == "vote":
        telemetry.metrics.feedback.add(1, attributes)
    with step_span(telemetry, run_id, "opsbot.feedback", "run", attributes) as span:
        span.add_event(f"opsbot.feedback.{event}", {
            **attributes, "enduser.id": voter, "opsbot.feedback.outcome": result.outcome.value,
            "opsbot.feedback.replaced": result.previous or "",
            "opsbot.feedback.comment_chars": comment_chars,
        })  # fmt: skip


async def _stored(
    run_id: str, voter: str, vote: str, comment: str | None, audit_outcome: str,
    thread_id: str | None,
) -> FeedbackResult:  # fmt: skip
    """`_store` in its own transaction, retried when a racing first vote inserted the row."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await current_engine().db.run(
                lambda s: _store(s, run_id, voter, vote, comment, audit_outcome, thread_id)
            )
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
            log.info("feedback of %s on %s raced another vote; again", voter, run_id)
    raise AssertionError("unreachable")


async def record_vote(
    run_id: str, voter: str, vote: str, thread_id: str | None = None
) -> FeedbackResult:
    """Store `voter`'s 👍 ("up") or 👎 ("down") on run `run_id`, replacing their earlier vote.

    A 👎 keeps the comment of an earlier 👎. Raises ValueError for a vote that is neither.
    Returns UNKNOWN_RUN (nothing stored, audited or exported) when no such run exists, or
    when `thread_id` is given and the run belongs to another thread (a click names its run;
    the run must be one of the thread the click came from). Votes racing one another are
    applied one after the other.
    """
    if vote not in VOTES:
        raise ValueError(f"a vote is one of {', '.join(VOTES)}, not {vote!r}")
    result = await _stored(run_id, voter, vote, None, vote, thread_id)
    if result.outcome is not FeedbackOutcome.UNKNOWN_RUN:
        _export(run_id, voter, vote, "vote", result)
    log.info("feedback %s on %s by %s: %s", vote, run_id, voter, result.outcome.value)
    return result


async def record_comment(
    run_id: str, voter: str, comment: str, thread_id: str | None = None
) -> FeedbackResult:
    """Store `voter`'s comment (clipped to MAX_COMMENT characters) with a 👎 on `run_id`.

    The comment comes from the modal a 👎 opens; it makes the vote a 👎 if it was not one.
    Secrets in it are redacted (core/redaction) before it is stored or audited: people paste
    log lines. An empty comment stores nothing new and returns RECORDED. UNKNOWN_RUN as for
    a vote.
    """
    text = redact(comment.strip())[:MAX_COMMENT]
    if not text:
        return FeedbackResult(outcome=FeedbackOutcome.RECORDED)
    result = await _stored(run_id, voter, "down", text, "comment", thread_id)
    if result.outcome is not FeedbackOutcome.UNKNOWN_RUN:
        _export(run_id, voter, "down", "comment", result, len(text))
    return result


def counts(session: Session, run_ids: Sequence[str]) -> dict[str, FeedbackCounts]:
    """👍/👎 counts of each of `run_ids` that has votes (runs without votes are absent)."""
    if not run_ids:
        return {}
    rows = session.execute(
        select(FeedbackRow.run_id, FeedbackRow.vote, func.count())
        .where(FeedbackRow.run_id.in_(list(run_ids)))
        .group_by(FeedbackRow.run_id, FeedbackRow.vote)
    ).all()
    found: dict[str, dict[str, int]] = {}
    for run_id, vote, number in rows:
        found.setdefault(run_id, {})[vote] = int(number)
    return {r: FeedbackCounts(**v) for r, v in found.items()}


def votes(session: Session, run_id: str) -> list[FeedbackVote]:
    """Every stored vote on one run, oldest change first."""
    rows = session.scalars(
        select(FeedbackRow).where(FeedbackRow.run_id == run_id).order_by(FeedbackRow.updated_at)
    )
    return [
        FeedbackVote(
            run_id=r.run_id, voter=r.voter, vote=r.vote, comment=r.comment, updated_at=r.updated_at
        )
        for r in rows
    ]


def counts_text(found: FeedbackCounts | None) -> str:
    """The counts as `opsbot runs` prints them: "👍 2 👎 1" (zeros included)."""
    found = found or FeedbackCounts()
    return f"👍 {found.up} 👎 {found.down}"


def runs_table(session: Session, limit: int = 20) -> str:
    """The newest `limit` runs, one line each: id, status, outcome, tokens (prompt plus
    output), the prompt's cached share, cost (USD) and 👍/👎 counts, newest first (`opsbot runs
    list`); "no runs yet" when there are none."""
    rows = session.scalars(select(RunRow).order_by(RunRow.started_at.desc()).limit(limit)).all()
    if not rows:
        return "no runs yet"
    found = counts(session, [r.id for r in rows])
    width = max(len(r.id) for r in rows)
    lines = [f"{'RUN':<{width}}  {'STATUS':<16}  {'OUTCOME':<10}  {'TOKENS':>10}  "
             f"{'CACHED':>6}  {'COST':>8}  FEEDBACK"]  # fmt: skip
    lines += [
        f"{r.id:<{width}}  {r.status:<16}  {r.outcome or '-':<10}  "
        f"{r.input_tokens + r.output_tokens:>10,}  {_cached(r):>6}  ${r.cost_usd:>7.4f}  "
        f"{counts_text(found.get(r.id))}"
        for r in rows
    ]
    return "\n".join(lines)


def _cached(run: RunRow) -> str:
    """The share of the run's prompt tokens the cache served ("-" when none)."""
    read = run.cache_read_tokens or 0
    return f"{read / run.input_tokens:.0%}" if read and run.input_tokens else "-"
