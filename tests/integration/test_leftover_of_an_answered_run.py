"""A stream left open by a run that has ended (Slack refused the answer's final stop, or the
process died while it was sent): the next start finishes it as an ended run's stream. Its
thread's agent session stays `active` (stopped with `processing`, a finished thread showed a
Stop button until the idle sweep) and the complete answer is not marked interrupted."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from agents import service
from bot.leftovers import finish_leftovers
from bot.renderer import SlackPublisher
from bot.writer import SlackWriter
from core.redact import Redactor
from core.types import IncomingMessage, ThreadRef
from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import Outage
from tests.integration.test_task_timeline import ANSWER, TOOLS, model, slack
from tests.slack_runs import CHANNEL, replies
from tests.support import make_settings

__all__ = ["model", "slack"]  # the fixtures, imported so pytest finds them here


def final_stop(args: dict[str, Any]) -> bool:
    return args.get("session_status") == "active"


@pytest.mark.parametrize("error", ["internal_error", "service_unavailable", "fatal_error"])
async def test_an_answered_runs_leftover_stream_is_finished_as_ended(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Any,
    error: str,
) -> None:  # fmt: skip
    slack.sandbox.outages.append(Outage("chat.stopStream", error=error, times=9,
                                        when=final_stop))  # fmt: skip
    space = slack.sandbox.workspace
    web = AsyncWebClient(token=space.bot_token, base_url=slack.api_url)
    writer = SlackWriter(web, rate_scale=100.0)
    publisher = SlackPublisher(writer, flush_interval_s=0.05, redactor=Redactor())
    engine = await service.launch(make_settings(database_url, workspace, model.url), publisher)
    try:
        spec = engine.agents["log_analyzer"]
        engine.agents["log_analyzer"] = dataclasses.replace(spec, tools=(*spec.tools, *TOOLS))
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why are errors up?")
        thread = ThreadRef(team=space.team_id, channel=CHANNEL, thread_ts=root.ts)
        handle = await service.start_turn(
            thread, IncomingMessage(ts=root.ts, text="why are errors up?", user="U0ONCALL")
        )
        assert await asyncio.wait_for(handle.get_result(), 60) == "succeeded"
        left = [m.ts for m in space.thread(CHANNEL, root.ts) if m.streaming]
        assert len(left) == 1, "Slack refused to stop the answer's stream"
        # the run's end as bot/session_status.py sets it; a restart, and Slack answers again
        await web.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts,
                                            status="active")  # fmt: skip
        slack.sandbox.outages.clear()
        assert await finish_leftovers(writer) == 1
    finally:
        await publisher.close()
        await service.stop()
        if web.session is not None:
            await web.session.close()

    session = slack.sandbox.api.sessions[(CHANNEL, root.ts)]
    assert session.status == "active", session.history
    assert not [m.ts for m in space.thread(CHANNEL, root.ts) if m.streaming]
    answered = next(m for m in replies(slack, root.ts) if ANSWER in m["text"])
    assert "interrupted by a restart" not in answered["text"], "the answer was complete"
