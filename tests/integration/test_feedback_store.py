"""Votes on a run's answer: one per run and voter, audited, counted as a metric and a span
event in the run's trace; a vote on an unknown run or a vote that is no vote stores nothing.
Real engine, real database (agents/feedback.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents import audit, feedback
from agents.feedback import FeedbackOutcome
from core.models import AuditRow, FeedbackRow, RunRow, ThreadRow
from core.telemetry import trace_id_for
from tests.support import launched, make_settings

THREAD = "T_TEST:C_INCIDENTS:1700000000.000100"
RUN = THREAD


def _a_run(session: Session) -> None:
    now = time.time()
    ts = "1700000000.000100"
    session.add(ThreadRow(id=THREAD, team="T_TEST", channel="C_INCIDENTS", thread_ts=ts,
                          created_at=now, updated_at=now))  # fmt: skip
    session.flush()
    session.add(RunRow(id=RUN, thread_id=THREAD, message_ts=ts, requester="U1",
                       status="succeeded", agents=[], started_at=now,
                       outcome="succeeded"))  # fmt: skip


def _points(reader: InMemoryMetricReader) -> list[tuple[dict[str, Any], Any]]:
    data = reader.get_metrics_data()
    return [
        (dict(point.attributes or {}), getattr(point, "value", None))
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "opsbot.feedback"
        for point in metric.data.data_points
    ]


async def test_votes_replace_count_audit_and_export(
    database_url: str, workspace: Path, tmp_path: Path
) -> None:
    reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    async with launched(settings, span_exporter=spans, metric_reader=reader) as engine:
        await engine.db.run(_a_run)
        first = await feedback.record_vote(RUN, "U_ONCALL", "up")
        second = await feedback.record_vote(RUN, "U_ONCALL", "down")
        commented = await feedback.record_comment(RUN, "U_ONCALL", "  wrong service  ")
        again = await feedback.record_vote(RUN, "U_ONCALL", "down")  # keeps the comment
        await feedback.record_vote(RUN, "U_LEAD", "up")
        votes = await engine.db.run(lambda s: feedback.votes(s, RUN))
        counts = await engine.db.run(lambda s: feedback.counts(s, [RUN, "other"]))
        table = await engine.db.run(lambda s: feedback.runs_table(s))
        rows = await engine.db.run(lambda s: audit.entries(s, RUN))
        points = _points(reader)
    assert (first.outcome, second.outcome, second.previous) == (
        FeedbackOutcome.RECORDED, FeedbackOutcome.REPLACED, "up",
    )  # fmt: skip
    assert (commented.outcome, again.previous) == (FeedbackOutcome.REPLACED, "down")
    assert [(v.voter, v.vote, v.comment) for v in votes] == [
        ("U_ONCALL", "down", "wrong service"), ("U_LEAD", "up", None),
    ]  # fmt: skip
    assert counts == {RUN: feedback.FeedbackCounts(up=1, down=1)}
    assert f"{RUN}  succeeded" in table
    assert table.endswith("👍 1 👎 1")
    feedback_rows = [r for r in reversed(rows) if r.action == "feedback"]
    assert [(r.actor, r.outcome) for r in feedback_rows] == [
        ("U_ONCALL", "up"), ("U_ONCALL", "down"), ("U_ONCALL", "comment"), ("U_ONCALL", "down"),
        ("U_LEAD", "up"),
    ]  # fmt: skip
    assert feedback_rows[0].detail is None
    assert feedback_rows[1].detail == f"capture it as an eval case: opsbot eval capture {RUN}"
    assert feedback_rows[2].detail == (
        f"comment: wrong service; capture it as an eval case: opsbot eval capture {RUN}"
    )
    assert sorted(points, key=str) == [({"opsbot.feedback.vote": "down"}, 2),
                                       ({"opsbot.feedback.vote": "up"}, 2)]  # fmt: skip
    exported = [s for s in spans.get_finished_spans() if s.name == "opsbot.feedback"]
    assert len(exported) == 5
    assert {s.context.trace_id for s in exported} == {trace_id_for(RUN)}, "in the run's trace"
    events = [(e.name, (e.attributes or {})["opsbot.feedback.vote"])
              for s in exported for e in s.events]  # fmt: skip
    assert events[:3] == [("opsbot.feedback.vote", "up"), ("opsbot.feedback.vote", "down"),
                          ("opsbot.feedback.comment", "down")]  # fmt: skip


@pytest.mark.parametrize("run_id", ["T_TEST:C_INCIDENTS:1.2", "not-a-run", ""])
async def test_a_vote_on_an_unknown_run_stores_nothing(
    database_url: str, workspace: Path, run_id: str
) -> None:
    reader = InMemoryMetricReader()
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    async with launched(settings, metric_reader=reader) as engine:
        await engine.db.run(_a_run)
        voted = await feedback.record_vote(run_id, "U_ONCALL", "down")
        commented = await feedback.record_comment(run_id, "U_ONCALL", "bad")
        stored = await engine.db.run(lambda s: list(s.scalars(select(FeedbackRow))))
        audited = await engine.db.run(lambda s: list(s.scalars(select(AuditRow))))
        points = _points(reader)
    assert voted.outcome is commented.outcome is FeedbackOutcome.UNKNOWN_RUN
    assert (stored, audited, points) == ([], [], [])


@pytest.mark.parametrize("vote", ["sideways", "UP", "", "👍"])
async def test_a_vote_that_is_no_vote_is_refused(
    database_url: str, workspace: Path, vote: str
) -> None:
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    async with launched(settings) as engine:
        await engine.db.run(_a_run)
        with pytest.raises(ValueError, match="a vote is one of up, down"):
            await feedback.record_vote(RUN, "U_ONCALL", vote)
        stored = await engine.db.run(lambda s: list(s.scalars(select(FeedbackRow))))
    assert stored == []
