"""A bundled incident tried again starts from its original files (`opsbot dev`'s page).

`opsbot dev` keeps one incident workspace for every bundled scenario (`bot.dev`), so a fix the
agents made stays in it. When a person picks a scenario again, the page restores that
scenario's files (its `workspace/` and `logs/` as shipped under `sandbox/scenarios/NAME`) —
and, for a scenario with a deploy history (bad-deploy), the deploys MCP server's state —
unless a run started from that scenario has not finished (it may wait for an approval and
would then act on files that changed under it); then nothing is touched and the page says so.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from sandbox.slack.model import Workspace

WORKSPACE_ENV = "SANDBOX_INCIDENT_WORKSPACE"  # set by `opsbot dev` to its incident workspace
DEPLOYS_STATE_ENV = "SANDBOX_DEPLOYS_STATE"  # set by `opsbot dev`: the deploys server's state


@dataclass(frozen=True)
class Outcome:
    """What picking a scenario did to the workspace, in words for the page."""

    fresh: bool
    restored: list[str]
    note: str


def incident_workspace() -> Path | None:
    """The incident workspace `opsbot dev` named, or None when the page runs without one."""
    named = os.environ.get(WORKSPACE_ENV)
    return Path(named) if named else None


def shipped_files(name: str) -> dict[str, Path]:
    """The scenario's original files by their path in the incident workspace.

    Raises `KeyError` for a name that is not a bundled scenario."""
    from sandbox.model.scenario import SCENARIOS_DIR, bundled_names

    if name not in bundled_names():
        raise KeyError(name)
    source = SCENARIOS_DIR / name
    files = {str(p.relative_to(source / "workspace")): p
             for p in (source / "workspace").rglob("*") if p.is_file()}  # fmt: skip
    if (source / "logs").is_dir():
        files |= {str(Path("logs") / p.relative_to(source / "logs")): p
                  for p in (source / "logs").rglob("*") if p.is_file()}  # fmt: skip
    return files


def restore(workspace: Path, name: str) -> list[str]:
    """Put back every file of scenario `name` that differs or is gone; the paths restored."""
    restored = []
    for relative, original in sorted(shipped_files(name).items()):
        target = workspace / relative
        if target.is_file() and target.read_bytes() == original.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(original, target)
        restored.append(relative)
    return restored


def restore_deploys(name: str) -> list[str]:
    """Put scenario `name`'s deploy history (its `deploys.json`) back into the deploys MCP
    server's state named by SANDBOX_DEPLOYS_STATE; ["deploy history"] when it changed.

    Raises `OSError` or `ValueError` when the seed or the state cannot be read or written."""
    from sandbox.mcp.config import deploys_seed, reset_deploys

    named = os.environ.get(DEPLOYS_STATE_ENV)
    seed = deploys_seed(name)
    if not named or seed is None:
        return []
    return ["deploy history"] if reset_deploys(Path(named), seed) else []


def incident_threads(workspace: Workspace, prompt: str) -> list[tuple[str, str]]:
    """(channel, ts) of every thread a person started with the scenario's prompt."""
    found = []
    for channel in workspace.channels.values():
        for message in channel.messages.values():
            is_root = not message.thread_ts or message.thread_ts == message.ts
            if is_root and prompt in (message.text or ""):
                found.append((channel.id, message.ts))
    return found


async def unfinished_thread(
    workspace: Workspace, prompt: str, runs_url: str
) -> tuple[str, str] | None:
    """The first thread started with `prompt` whose run has not finished, asked of the app's
    `/runs` (OPSBOT_RUNS_API); None when all have finished.

    Raises `aiohttp.ClientError` or `TimeoutError` when the app cannot be asked."""
    threads = incident_threads(workspace, prompt)
    if not threads:
        return None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for channel, ts in threads:
            thread = f"{workspace.team_id}:{channel}:{ts}"
            async with session.get(runs_url, params={"thread": thread}) as answer:
                runs = (await answer.json()).get("runs", [])
            if any(run.get("finished_at") is None for run in runs):
                return channel, ts
    return None


async def fresh_incident(
    workspace: Workspace, scenarios: list[dict[str, str]], name: str, runs_url: str
) -> Outcome:
    """Restore scenario `name`'s files in the incident workspace when no run of it is going.

    Raises `KeyError` for a name that is not a bundled scenario the page offers."""
    root = incident_workspace()
    prompt = next((s["prompt"] for s in scenarios if s["name"] == name), None)
    if prompt is None:
        raise KeyError(name)
    if root is None:
        return Outcome(False, [], "")
    try:
        going = await unfinished_thread(workspace, prompt, runs_url) if runs_url else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return Outcome(False, [], f"{name}: opsbot did not answer, so its files were kept "
                                  "as they are (a run may still use them)")  # fmt: skip
    if going is not None:
        return Outcome(False, [], f"{name} is still running in an earlier thread (it may wait "
                                  "for an approval): its files stay as that run left them. "
                                  "Finish or reject it, then pick the incident again to start "
                                  "over.")  # fmt: skip
    restored = await asyncio.to_thread(restore, root, name)
    restored += await asyncio.to_thread(restore_deploys, name)
    note = f"{name} starts from its original files" + (
        f" ({len(restored)} restored: {', '.join(restored)})" if restored else "")  # fmt: skip
    return Outcome(True, restored, note)
