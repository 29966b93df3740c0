"""The bad-deploy incident in `opsbot dev`: the investigator reads the deploy history through
the deploys MCP server, the rollback waits for a card, one click runs it once, and picking the
incident again on the page restores the deploy history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.model.scenario import SCENARIOS_DIR
from tests.e2e.dev_process import running_dev
from tests.e2e.test_incident_again import finished, start
from tests.e2e.test_make_dev import approve

pytestmark = pytest.mark.e2e
ROLLBACK = "mcp__deploys__rollback_deploy"


def history(folder: Path) -> list[dict[str, Any]]:
    return list(json.loads((folder / "deploys-state.json").read_text())["deploys"])


def seed() -> list[dict[str, Any]]:
    return list(json.loads((SCENARIOS_DIR / "bad-deploy" / "deploys.json").read_text())["deploys"])


async def test_the_bad_deploy_is_found_and_rolled_back_once_through_mcp(tmp_path: Path) -> None:
    folder = tmp_path / "dev"
    async with running_dev(folder, {"OPSBOT_MCP_CONFIG": ""}) as dev:
        servers = json.loads((folder / "mcp.json").read_text())["mcpServers"]
        assert list(servers) == ["deploys"]
        assert history(folder) == seed()
        root = await start(dev, "bad-deploy")
        await approve(dev, root, ROLLBACK)
        await finished(dev, root)
        said = " ".join(m["text"] for m in await dev.thread(root))
        assert "Root cause found" in said
        assert "d-2044" in said
        assert "Fixed." in said
        rollbacks = [r for r in history(folder) if r.get("kind") == "rollback"]
        assert [(r["rolled_back"], r["version"]) for r in rollbacks] == [("d-2044", "3.7.2")]

        again = await dev.post("/_sandbox/fresh_incident", {"name": "bad-deploy"})
        assert again["fresh"]
        assert again["restored"] == ["deploy history"]
        assert history(folder) == seed()
        other = await dev.post("/_sandbox/fresh_incident", {"name": "bad-deploy"})
        assert other["restored"] == [], "an untouched history is not rewritten"
