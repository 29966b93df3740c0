"""Every bundled incident scenario runs through the real engine and fixes its workspace."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from agents import service
from agents.events import ApprovalRequested, RunFinished
from agents.publisher import RecordingPublisher
from core.models import ToolCallRow
from sandbox.mcp.config import DEPLOYS_STATE, write_mcp_config
from sandbox.model.scenario import bundled_names, load_scenario, load_scenarios
from sandbox.model.server import start_model_server
from tests.integration.test_scenario_run import approve_every_request
from tests.support import copy_scenario, launched, make_settings, thread_and_message


def test_at_least_three_incidents_are_bundled_and_tell_their_prompts_apart() -> None:
    names = bundled_names()
    assert len(names) >= 3
    together = load_scenarios("all")
    for name in names:
        scenario = load_scenario(name)
        matching = [t for t in together.turns if t.match.search(scenario.prompt)]
        assert matching[0] == scenario.turns[0], f"{name}'s prompt is taken by another script"


@pytest.mark.parametrize("name", bundled_names())
async def test_a_bundled_incident_is_investigated_and_fixed(
    name: str, database_url: str, tmp_path: Path
) -> None:
    scenario = load_scenario(name)
    expect = scenario.extras["expect"]
    workspace = copy_scenario(name, tmp_path)
    server = await start_model_server(scenario)
    publisher = RecordingPublisher()
    mcp = write_mcp_config(tmp_path, [name], fresh=True)  # bad-deploy: the deploys server
    settings = make_settings(
        database_url, workspace, server.url, **({"mcp_config": mcp} if mcp else {})
    )
    try:
        async with launched(settings, publisher) as engine:
            approving = asyncio.create_task(approve_every_request(publisher))
            thread, message = thread_and_message(scenario.prompt)
            outcome = await asyncio.wait_for(
                (await service.start_turn(thread, message)).get_result(), 60
            )
            approving.cancel()
            shells = await engine.db.run(
                lambda s: s.scalars(
                    select(ToolCallRow).where(ToolCallRow.name == "shell_execute")
                ).all()
            )
    finally:
        await server.stop()
    assert outcome == "succeeded", publisher.of(RunFinished)
    answer = publisher.of(RunFinished)[0].answer
    for said in expect.get("answer", ["Root cause found", "Fixed."]):  # latency-spike: no fix
        assert said in answer
    assert [a.tool_name for a in publisher.of(ApprovalRequested)] == expect["approvals"]
    for path, text in expect.get("files_contain", {}).items():
        assert text in (workspace / path).read_text(), path
    for path in expect.get("files_gone", []):
        assert not (workspace / path).exists(), path
    if "shell_execute" in expect["approvals"]:
        assert shells, "the fix is checked with a command"
    if mcp is not None:  # a rollback through MCP: the deploy history holds exactly one
        records = json.loads((tmp_path / DEPLOYS_STATE).read_text())["deploys"]
        assert [r["kind"] for r in records].count("rollback") == 1
    for row in shells:
        assert row.result["data"]["exit_code"] == 0, row.result
