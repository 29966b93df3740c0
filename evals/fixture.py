"""A case's incident, laid out as the bot will see it: a git workspace with its logs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from evals.cases import Case, CaseError
from sandbox.mcp.config import write_mcp_config
from sandbox.model.scenario import SCENARIOS_DIR, Scenario, load_scenario, parse_scenario

LOG_GLOB = "logs/*.log"


def prepare_workspace(case: Case, destination: Path) -> Path:
    """Copy the fixture under `destination/workspace`, add inline files, commit it; the path."""
    fixture = case.fixture
    workspace = destination / "workspace"
    workspace.mkdir(parents=True)
    sources: list[tuple[Path, Path]] = []
    if fixture.scenario is not None:
        bundled = SCENARIOS_DIR / fixture.scenario
        if not (bundled / "workspace").is_dir():
            raise CaseError(case.path or bundled, f"fixture.scenario: no {fixture.scenario!r}")
        sources += [(bundled / "workspace", workspace), (bundled / "logs", workspace / "logs")]
    for folder, target in ((fixture.workspace, workspace), (fixture.logs, workspace / "logs")):
        if folder is not None:
            path = case.directory / folder
            if not path.is_dir():
                raise CaseError(case.path or path, f"fixture: no folder {folder!r}")
            sources.append((path, target))
    for source, target in sources:
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
    for relative, text in fixture.files.items():
        path = (workspace / relative).resolve()
        if not path.is_relative_to(workspace.resolve()):
            raise CaseError(case.path or workspace, f"fixture.files: {relative!r} is outside")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    commit_all(workspace, f"fixture of {case.name}")
    return workspace


def prepare_mcp(case: Case, destination: Path) -> Path | None:
    """The MCP servers the case's bundled scenario needs (bad-deploy: deploys), as an
    `mcpServers` file in `destination` with fresh server state there; None when it needs none
    or the operator set OPSBOT_MCP_CONFIG (then the bot reads that file)."""
    if os.environ.get("OPSBOT_MCP_CONFIG") or case.fixture.scenario is None:
        return None
    return write_mcp_config(destination, [case.fixture.scenario], fresh=True)


def commit_all(folder: Path, message: str) -> None:
    """Make `folder` a git repository holding everything in it (the git tools read history)."""
    git = ["git", "-c", "user.name=opsbot-eval", "-c", "user.email=eval@opsbot.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", message, "--allow-empty"]):
        subprocess.run([*git, *step], cwd=folder, check=True, capture_output=True)


def _with_borrowed_roles(case: Case, turn: dict[str, Any]) -> dict[str, Any]:
    """A role written as `{from: <scenario>}` takes that bundled scenario's first-turn steps."""
    filled = dict(turn)
    for role, steps in turn.items():
        if isinstance(steps, dict) and set(steps) == {"from"}:
            path = SCENARIOS_DIR / str(steps["from"]) / "script.yaml"
            if not path.is_file():
                raise CaseError(case.path or path, f"script: no bundled scenario {steps['from']!r}")
            first = (yaml.safe_load(path.read_text(encoding="utf-8")).get("turns") or [{}])[0]
            if role not in first:
                raise CaseError(case.path or path, f"script: {steps['from']} has no {role} steps")
            filled[role] = first[role]
    return filled


def offline_script(case: Case) -> Scenario:
    """The scripted model's transcript for the case: inline, a path, or the bundled scenario's."""
    script = case.script if case.script is not None else case.fixture.scenario
    if script is None:
        raise CaseError(case.path or Path(case.name), "script: needed for --model scripted")
    if isinstance(script, dict):
        data = {"name": case.name, **script}
        data["turns"] = [_with_borrowed_roles(case, turn) for turn in script.get("turns") or []]
        return parse_scenario(data, case.directory)
    local = case.directory / script
    try:
        return load_scenario(str(local) if local.exists() else script)
    except FileNotFoundError as error:
        raise CaseError(case.path or local, f"script: {error}") from None
