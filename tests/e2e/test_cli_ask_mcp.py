"""`opsbot ask --demo --scenario bad-deploy` as a user runs it: the scenario's MCP deploys
server starts by itself, the rollback is asked at the prompt and runs once; with the user's
own OPSBOT_MCP_CONFIG the demo says that the bundled server is not started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def ask(
    tmp_path: Path, *args: str, answers: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "ANTHROPIC_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--demo", "--scenario", "bad-deploy",
         "--demo-dir", str(tmp_path), *args],
        cwd=ROOT, env=clean | env, input=answers, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def rollbacks(tmp_path: Path) -> list[dict[str, object]]:
    state = json.loads((tmp_path / "deploys-state.json").read_text())
    return [d for d in state["deploys"] if d.get("kind") == "rollback"]


def test_the_demo_rolls_back_through_mcp_once(tmp_path: Path) -> None:
    result = ask(tmp_path, "--yes")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "MCP deploys: connected" in out
    assert "APPROVAL NEEDED [write] mcp__deploys__rollback_deploy" in out
    assert "--- succeeded in" in out
    assert [r["rolled_back"] for r in rollbacks(tmp_path)] == ["d-2044"], rollbacks(tmp_path)


def test_answering_no_rolls_nothing_back(tmp_path: Path) -> None:
    result = ask(tmp_path, answers="n\nnot during the sale\n\n")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.count("Approve? [y/N]") == 1
    assert rollbacks(tmp_path) == []


def test_the_users_own_mcp_config_is_named_when_it_replaces_the_bundled_server(
    tmp_path: Path,
) -> None:
    own = tmp_path / "own.json"
    own.write_text(json.dumps({"mcpServers": {"other": {"command": "/nonexistent/server"}}}))
    result = ask(tmp_path, "--yes", OPSBOT_MCP_CONFIG=str(own))
    assert "OPSBOT_MCP_CONFIG is set, so the bundled MCP server deploys is not started" in (
        result.stderr
    )
    assert "mcp__deploys__rollback_deploy is not available" in result.stdout
    assert not (tmp_path / "deploys-state.json").exists()
