"""MCP configuration for the bundled scenarios: which sandbox servers they need, written as an
`mcpServers` file for OPSBOT_MCP_CONFIG (`opsbot dev`, `opsbot ask --demo`, `opsbot eval`).

A scenario needs the `deploys` server when it ships a `deploys.json` (the seed of its deploy
history). The server runs over stdio from this checkout with the same Python, and keeps its
state in the folder the configuration is written to (never in the incident workspace, so the
agents' file tools cannot change the history behind the server's back).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sandbox.mcp.deploy_state import read_records, write_records

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIOS_DIR = REPO_ROOT / "sandbox" / "scenarios"
CONFIG_NAME = "mcp.json"
DEPLOYS_SEED = "deploys.json"
DEPLOYS_STATE = "deploys-state.json"


def deploys_seed(scenario: str) -> Path | None:
    """The bundled scenario's deploy history seed, or None when it needs no deploys server."""
    seed = SCENARIOS_DIR / scenario / DEPLOYS_SEED
    return seed if seed.is_file() else None


def deploys_server(state: Path, seed: Path) -> dict[str, Any]:
    """The `mcpServers` entry that starts the deploys server over stdio on `state`: listing
    and reading run at once, a rollback asks for approval."""
    return {
        "command": sys.executable,
        "args": ["-m", "sandbox.mcp.deploys", "--state", str(state), "--seed", str(seed)],
        "cwd": str(REPO_ROOT),
        "allow": ["list_*", "get_*"],
        "approve": ["rollback_*"],
        "timeout_s": 20,
    }


def reset_deploys(state: Path, seed: Path) -> bool:
    """Put the seed's history into `state` (atomically) unless it holds it already; whether
    it changed. Raises `OSError` or `sandbox.mcp.deploy_state.DeployError` for a bad seed."""
    records = read_records(seed)
    if state.is_file():
        try:
            if read_records(state) == records:
                return False
        except ValueError:
            pass  # a broken state file is replaced by the seed
    write_records(state, records)
    return True


def own_config_note(scenarios: Iterable[str]) -> str | None:
    """The line to print when OPSBOT_MCP_CONFIG replaces the servers these bundled scenarios
    ship (their tools are then refused), or None."""
    needing = [name for name in scenarios if deploys_seed(name) is not None]
    if not needing:
        return None
    return (f"OPSBOT_MCP_CONFIG is set, so the bundled MCP server deploys is not started: "
            f"{', '.join(needing)} cannot call it (its rollback is refused). Unset "
            "OPSBOT_MCP_CONFIG to try the bundled incidents as shipped.")  # fmt: skip


def write_mcp_config(directory: Path, scenarios: Iterable[str], fresh: bool = False) -> Path | None:
    """Write `directory/mcp.json` with the servers `scenarios` need and seed their state in
    `directory` (reset to the seed when `fresh`, else kept); its path, or None when none of
    the scenarios needs a server (then no file is written)."""
    seeds = [seed for name in scenarios if (seed := deploys_seed(name)) is not None]
    if not seeds:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    state = directory / DEPLOYS_STATE
    if fresh or not state.is_file():
        reset_deploys(state, seeds[0])
    config = {"mcpServers": {"deploys": deploys_server(state, seeds[0])}}
    path = directory / CONFIG_NAME
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path
