"""A silence is created in the real Alertmanager only after a person approves it, once; a
rejected one is never created; the investigator, which only looks, is refused."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agents import service
from agents.events import ApprovalRequested, ToolFinished
from agents.publisher import RecordingPublisher
from sandbox.model.server import start_model_server
from tests.metrics.servers import start_alertmanager
from tests.support import counter_workspace, launched, make_settings, scripted, thread_and_message

SILENCE = {
    "matchers": ['alertname="AppErrors"', 'route="/checkout"'],
    "duration": "2h",
    "comment": "checkout incident, rollback in progress",
}


def _turn(agent: str) -> dict[str, Any]:
    return {
        "match": ".*",
        "router": [{"agent": agent, "reason": "silence the alert"}],
        agent: [
            {"text": "Silencing the checkout alert.",
             "tool_calls": [{"name": "alertmanager_create_silence", "input": SILENCE}]},
            {"text": "Done."},
        ],
    }  # fmt: skip


async def _silences(url: str) -> list[dict[str, Any]]:
    def get() -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{url}/api/v2/silences", timeout=5) as answer:
            found: list[dict[str, Any]] = json.load(answer)
            return found

    return await asyncio.to_thread(get)


@asynccontextmanager
async def _engine(
    database_url: str, tmp_path: Path, agent: str
) -> AsyncIterator[tuple[RecordingPublisher, str]]:
    async with start_alertmanager() as alertmanager:
        model = await start_model_server(scripted([_turn(agent)]))
        publisher = RecordingPublisher()
        settings = make_settings(database_url, counter_workspace(tmp_path), model.url,
                                 alertmanager_url=alertmanager.url)  # fmt: skip
        try:
            async with launched(settings, publisher):
                yield publisher, alertmanager.url
        finally:
            await model.stop()


async def test_an_approved_silence_is_created_once(database_url: str, tmp_path: Path) -> None:
    async with _engine(database_url, tmp_path, "coding") as (publisher, url):
        thread, message = thread_and_message("silence the checkout alert for 2h")
        handle = await service.start_turn(thread, message)
        request = (await publisher.wait_for(ApprovalRequested))[0]
        assert await _silences(url) == []
        assert request.tool_name == "alertmanager_create_silence"
        assert request.risk == "write"
        assert '  alertname="AppErrors"\n  route="/checkout"\n' in request.preview
        assert "until: 2h after approval" in request.preview
        await service.submit_decision(request.approval_id, True, "U_LEAD")
        await asyncio.wait_for(handle.get_result(), 30)
        silences = await _silences(url)
    assert [s["comment"] for s in silences] == [SILENCE["comment"]]
    assert silences[0]["createdBy"] == "opsbot"
    assert {m["name"]: m["value"] for m in silences[0]["matchers"]} == {
        "alertname": "AppErrors", "route": "/checkout"}  # fmt: skip
    statuses = {e.name: e.status for e in publisher.of(ToolFinished)}
    assert statuses["alertmanager_create_silence"] == "ok"


async def test_a_rejected_silence_is_never_created(database_url: str, tmp_path: Path) -> None:
    async with _engine(database_url, tmp_path, "coding") as (publisher, url):
        thread, message = thread_and_message("silence the checkout alert for 2h")
        handle = await service.start_turn(thread, message)
        request = (await publisher.wait_for(ApprovalRequested))[0]
        await service.submit_decision(request.approval_id, False, "U_LEAD", "fix it instead")
        await asyncio.wait_for(handle.get_result(), 30)
        assert await _silences(url) == []
    statuses = {e.name: e.status for e in publisher.of(ToolFinished)}
    assert statuses["alertmanager_create_silence"] == "rejected"


async def test_the_investigator_may_not_silence(database_url: str, tmp_path: Path) -> None:
    async with _engine(database_url, tmp_path, "log_analyzer") as (publisher, url):
        thread, message = thread_and_message("silence the checkout alert for 2h")
        handle = await service.start_turn(thread, message)
        await asyncio.wait_for(handle.get_result(), 30)
        assert await _silences(url) == []
    assert publisher.of(ApprovalRequested) == []
    statuses = {e.name: e.status for e in publisher.of(ToolFinished)}
    assert statuses["alertmanager_create_silence"] == "denied"
