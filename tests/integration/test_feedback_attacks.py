"""Attacks on the feedback store: votes racing one another, secrets in comments, a vote or a
comment naming a run of another thread. Real engine, real database (agents/feedback.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from agents import feedback
from agents.feedback import FeedbackOutcome
from core.models import AuditRow, FeedbackRow
from tests.integration.test_feedback_store import RUN, THREAD, _a_run
from tests.support import launched, make_settings


async def test_votes_racing_from_one_person_keep_one_row(
    database_url: str, workspace: Path
) -> None:
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    async with launched(settings) as engine:
        await engine.db.run(_a_run)
        clicks = ["up", "down"] * 6
        results = await asyncio.gather(
            *(feedback.record_vote(RUN, "U_FAST", v) for v in clicks), return_exceptions=True
        )
        rows = await engine.db.run(lambda s: s.scalars(select(FeedbackRow)).all())
        audited = await engine.db.run(
            lambda s: s.scalars(select(AuditRow).where(AuditRow.action == "feedback")).all()
        )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(rows) == 1, "one row per run and voter"
    assert len(audited) == len(clicks), "every vote is audited"


@pytest.mark.parametrize(
    "secret",
    ["AKIAIOSFODNN7EXAMPLE", "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"],
)
async def test_a_secret_in_a_comment_is_redacted_before_storage_and_audit(
    database_url: str, workspace: Path, secret: str
) -> None:
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    async with launched(settings) as engine:
        await engine.db.run(_a_run)
        await feedback.record_vote(RUN, "U_ONCALL", "down")
        await feedback.record_comment(RUN, "U_ONCALL", f"it printed {secret} in the logs")
        rows = await engine.db.run(lambda s: s.scalars(select(FeedbackRow)).all())
        audited = await engine.db.run(
            lambda s: s.scalars(select(AuditRow).where(AuditRow.action == "feedback")).all()
        )
    stored = str([r.comment for r in rows]) + str([a.detail for a in audited])
    assert secret not in stored
    assert "[REDACTED:" in str(rows[0].comment)
    assert "it printed" in str(rows[0].comment)


@pytest.mark.parametrize(
    "thread",
    ["T_TEST:C_INCIDENTS:1700000000.999999", "T_OTHER:C_INCIDENTS:1700000000.000100",
     "T_TEST:C_ELSEWHERE:1700000000.000100"],
)  # fmt: skip
async def test_a_vote_or_comment_from_another_thread_stores_nothing(
    database_url: str, workspace: Path, thread: str
) -> None:
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    async with launched(settings) as engine:
        await engine.db.run(_a_run)
        vote = await feedback.record_vote(RUN, "U_ONCALL", "up", thread_id=thread)
        comment = await feedback.record_comment(RUN, "U_ONCALL", "bad", thread_id=thread)
        right = await feedback.record_vote(RUN, "U_ONCALL", "up", thread_id=THREAD)
        rows = await engine.db.run(lambda s: s.scalars(select(FeedbackRow)).all())
    assert vote.outcome is FeedbackOutcome.UNKNOWN_RUN
    assert comment.outcome is FeedbackOutcome.UNKNOWN_RUN
    assert right.outcome is FeedbackOutcome.RECORDED
    assert [(r.vote, r.comment) for r in rows] == [("up", None)]


@pytest.mark.parametrize("pad", [1990, 1995])
async def test_a_secret_across_the_clip_is_redacted_not_cut_in_half(
    database_url: str, workspace: Path, pad: int
) -> None:
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    async with launched(settings) as engine:
        await engine.db.run(_a_run)
        await feedback.record_comment(RUN, "U_ONCALL", "x" * pad + " AKIAIOSFODNN7EXAMPLE")
        await feedback.record_comment(RUN, "U_LEAD", "y" * 3001)
        rows = await engine.db.run(lambda s: s.scalars(select(FeedbackRow)).all())
    comments = {r.voter: str(r.comment) for r in rows}
    assert "AKIAIOSF" not in comments["U_ONCALL"]
    assert len(comments["U_ONCALL"]) == feedback.MAX_COMMENT
    assert comments["U_LEAD"] == "y" * feedback.MAX_COMMENT, "a 3,001-character comment is clipped"
