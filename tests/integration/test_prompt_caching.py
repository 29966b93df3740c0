"""Prompt caching in a real run: the bundled checkout incident through DBOS, the real SDK and
the scripted model, whose cache follows the documented rules (sandbox/model/prompt_cache.py).
Every call of an agent's loop reads exactly what the call before it wrote, so the
breakpoints stay stable across the run; usage and cost count the cache at its prices; the
footer and `opsbot runs list` show the cached share; an endpoint without caching gets no
marker at all."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agents import service
from agents.events import RunFinished
from agents.feedback import runs_table
from agents.pricing import cost_usd
from agents.publisher import RecordingPublisher
from bot.blocks import footer_text
from core.models import LlmCallRow, RunRow
from sandbox.model.server import RunningModelServer
from tests.integration.test_scenario_run import approve_every_request
from tests.support import launched, make_settings, thread_and_message


async def checkout_run(
    database_url: str, workspace: Path, model_server: RunningModelServer, **extra: Any
) -> tuple[RunFinished, RunRow, list[LlmCallRow], str]:
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, model_server.url, **extra)
    async with launched(settings, publisher) as engine:
        thread, message = thread_and_message("checkout is returning 500s")
        approver = asyncio.create_task(approve_every_request(publisher))
        handle = await service.start_turn(thread, message)
        assert await asyncio.wait_for(handle.get_result(), 60) == "succeeded"
        approver.cancel()
        run_id = message.run_id(thread)

        def rows(session: Any) -> tuple[RunRow | None, list[LlmCallRow], str]:
            calls = session.scalars(select(LlmCallRow).where(LlmCallRow.run_id == run_id)
                                    .order_by(LlmCallRow.id)).all()  # fmt: skip
            return session.get(RunRow, run_id), list(calls), runs_table(session)

        run, calls, table = await engine.db.run(rows)
    assert run is not None
    [finished] = publisher.of(RunFinished)
    return finished, run, calls, table


def hops(calls: list[LlmCallRow]) -> list[list[LlmCallRow]]:
    """The agents' calls, one list per hop (consecutive calls of one agent)."""
    grouped: list[list[LlmCallRow]] = []
    for call in calls:
        if call.agent == "router":
            continue
        if grouped and grouped[-1][0].agent == call.agent:
            grouped[-1].append(call)
        else:
            grouped.append([call])
    return grouped


async def test_each_call_of_an_agent_loop_reads_what_the_call_before_it_wrote(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    finished, run, calls, table = await checkout_run(database_url, workspace, model_server)

    loops = hops(calls)
    assert [(h[0].agent, len(h)) for h in loops] == [("log_analyzer", 4), ("coding", 5)]
    for hop in loops:
        # a first call may be under the model's minimum (sonnet 4.6: 2,048 tokens): it writes
        # nothing, and the next one writes everything
        for before, call in itertools.pairwise(hop):
            assert call.cache_read_tokens == before.cache_read_tokens + before.cache_write_tokens
            assert call.cache_write_tokens > 0
            assert call.input_tokens < 200, "only the last breakpoint's tail is uncached"
    for call in calls:
        billed = cost_usd(call.model, call.input_tokens, call.output_tokens,
                          call.cache_write_tokens, call.cache_read_tokens)  # fmt: skip
        assert call.cost_usd == billed

    read = sum(c.cache_read_tokens for c in calls)
    prompt = sum(c.input_tokens + c.cache_read_tokens + c.cache_write_tokens for c in calls)
    assert run.cache_read_tokens == read
    assert run.cache_write_tokens == sum(c.cache_write_tokens for c in calls)
    assert run.input_tokens == prompt, "a run's input is its whole prompt, cached or not"
    assert finished.input_tokens == prompt
    assert finished.cache_read_tokens == read
    share = f"{read / prompt:.0%} cached"
    assert f"{prompt:,} in ({share})" in footer_text(finished)
    assert f"{read / prompt:.0%}" in table.splitlines()[1]
    assert read / prompt > 0.5


async def test_an_endpoint_without_caching_gets_no_marker_and_pays_full_price(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    finished, run, calls, table = await checkout_run(
        database_url, workspace, model_server, model_features=frozenset({"token-counting"})
    )

    assert "cache_control" not in json.dumps(model_server.state.requests)
    assert all(c.cache_read_tokens == c.cache_write_tokens == 0 for c in calls)
    assert (run.cache_read_tokens, run.cache_write_tokens) == (0, 0)
    assert "cached" not in footer_text(finished)
    assert "  -  " in table.splitlines()[1]
