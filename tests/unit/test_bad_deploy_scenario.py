"""The bad-deploy incident as data: its script loads and branches, its eval case parses, its
MCP configuration is what opsbot's loader accepts, and its deploy history changes only once."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

from bot.dev import mcp_for_dev
from evals.cases import CaseError, load_case
from evals.cli import BUNDLED_CASES
from evals.fixture import offline_script, prepare_mcp, prepare_workspace
from sandbox.mcp import deploy_state
from sandbox.mcp.config import reset_deploys, write_mcp_config
from sandbox.model.scenario import SCENARIOS_DIR, Position, load_scenario, reply_for
from tools.mcp.config import load_mcp_config

ROLLBACK = "mcp__deploys__rollback_deploy"
SEED = SCENARIOS_DIR / "bad-deploy" / "deploys.json"


def test_the_script_investigates_through_mcp_and_the_rollback_has_a_rejected_branch() -> None:
    scenario = load_scenario("bad-deploy")
    assert scenario.extras["expect"]["approvals"] == [ROLLBACK]
    (turn,) = scenario.turns
    assert turn.match.search(scenario.prompt)
    looked = [name for step in turn.roles["log_analyzer"] for name, _ in step.tool_calls]
    assert looked[:3] == ["search_logs", "mcp__deploys__list_deploys", "mcp__deploys__get_deploy"]
    first = reply_for(scenario, Position("coding", scenario.prompt, 0))
    assert first is not None
    assert first.tool_calls[0][0] == ROLLBACK
    assert "Not fixed." in first.if_rejected[-1].text
    rejected = reply_for(scenario, Position("coding", scenario.prompt, 2, rejected_at=0))
    assert rejected is not None
    assert "nothing was rolled back" in rejected.text


def test_the_logs_show_the_errors_start_after_the_deploy_the_history_names() -> None:
    log = (SCENARIOS_DIR / "bad-deploy" / "logs" / "orders-api.log").read_text()
    errors = [line for line in log.splitlines() if "PoolTimeout" in line]
    assert len(errors) == 57
    assert errors[0].startswith("2026-11-24T15:02:45")
    deploys = {d["id"]: d for d in json.loads(SEED.read_text())["deploys"]}
    assert deploys["d-2044"]["time"] < errors[0][:19] + "Z"
    assert len({d["service"] for d in deploys.values()}) == 3


def test_the_eval_case_parses_and_names_the_mcp_card(tmp_path: Path) -> None:
    case = load_case(BUNDLED_CASES / "bad-deploy.yaml")
    assert case.turns[0].expect.approvals == [ROLLBACK]
    assert offline_script(case).name == "bad-deploy"
    assert (prepare_workspace(case, tmp_path) / "logs" / "orders-api.log").is_file()
    written = prepare_mcp(case, tmp_path)
    assert written == tmp_path / "mcp.json"
    (server,) = load_mcp_config(written, {})
    assert server.name == "deploys"
    assert server.command == sys.executable
    assert server.allow == ("list_*", "get_*")
    assert server.approve == ("rollback_*",)


@pytest.mark.parametrize(
    "name", ["mcp__deploys", "rollback_deploy", "mcp____rollback", "mcp__deploys__"]
)
def test_a_tool_that_is_neither_opsbots_nor_an_mcp_tool_fails_the_case(
    tmp_path: Path, name: str
) -> None:
    text = (BUNDLED_CASES / "bad-deploy.yaml").read_text().replace(ROLLBACK, name)
    path = tmp_path / "case.yaml"
    path.write_text(text)
    with pytest.raises(CaseError, match="is not a tool opsbot records"):
        load_case(path)


def test_scenarios_without_mcp_servers_write_no_file(tmp_path: Path) -> None:
    assert write_mcp_config(tmp_path, ["checkout-500", "disk-full", "payments-timeout"]) is None
    assert list(tmp_path.iterdir()) == []


def test_dev_keeps_the_history_and_yields_to_the_operators_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSBOT_MCP_CONFIG", raising=False)
    env = mcp_for_dev(tmp_path)
    assert env["OPSBOT_MCP_CONFIG"] == str(tmp_path / "mcp.json")
    deploy_state.rollback_deploy(tmp_path / "deploys-state.json", "d-2044", "pool")
    mcp_for_dev(tmp_path)  # a second `opsbot dev` on the same folder
    kinds = [r.get("kind") for r in deploy_state.read_records(tmp_path / "deploys-state.json")]
    assert kinds.count("rollback") == 1
    own = tmp_path / "own.json"
    own.write_text('{"mcpServers": {}}')
    monkeypatch.setenv("OPSBOT_MCP_CONFIG", str(own))
    assert "OPSBOT_MCP_CONFIG" not in mcp_for_dev(tmp_path / "other")
    assert not (tmp_path / "other" / "mcp.json").exists()


@pytest.mark.parametrize("broken", ["", "{", '{"deploys": 3}'])
def test_a_reset_replaces_a_changed_or_broken_history_with_the_seed(
    tmp_path: Path, broken: str
) -> None:
    state = tmp_path / "state.json"
    state.write_text(broken)
    assert reset_deploys(state, SEED)
    assert deploy_state.read_records(state) == deploy_state.read_records(SEED)
    assert not reset_deploys(state, SEED)


def test_concurrent_rollbacks_of_one_deploy_roll_back_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    deploy_state.seed_state(state, SEED)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            deploy_state.rollback_deploy(state, "d-2044", "pool")
            outcomes.append("rolled back")
        except deploy_state.DeployError as error:
            outcomes.append(str(error))

    workers = [threading.Thread(target=attempt) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert outcomes.count("rolled back") == 1
    assert all("not current" in o for o in outcomes if o != "rolled back")
    records = deploy_state.read_records(state)
    assert [r["id"] for r in records if r.get("kind") == "rollback"] == ["rb-1"]


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_a_rollback_needs_a_reason(tmp_path: Path, reason: str) -> None:
    state = tmp_path / "state.json"
    deploy_state.seed_state(state, SEED)
    with pytest.raises(deploy_state.DeployError, match="reason"):
        deploy_state.rollback_deploy(state, "d-2044", reason)
    assert deploy_state.read_records(state) == deploy_state.read_records(SEED)
