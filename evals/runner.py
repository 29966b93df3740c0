"""Run one case end to end: the local Slack workspace, `opsbot serve` and a model.

Database reads and the workspace's files are handled inline (milliseconds on SQLite): DBOS
replaces the loop's default executor and shuts it down with the bot.

The engineer (U0ONCALL) mentions the bot and replies in the thread; the incident lead (U0LEAD,
the only approver) answers each approval card by clicking it, as the case says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbos import DBOS

from agents import runtime
from bot.dev_metrics import IncidentMetrics, start_incident_metrics, stop_incident_metrics
from bot.serve import run_until_stopped
from core.settings import load_settings
from evals import pull_requests
from evals.cases import Case, CaseTurn
from evals.decisions import APPROVER, answer_card
from evals.fixture import LOG_GLOB, offline_script, prepare_mcp, prepare_workspace
from evals.observe import CaseSeen, RunTables, TurnSeen
from evals.replay import install_recording
from sandbox.metrics.prometheus import INCIDENT as METRICS_INCIDENT
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig, SlackSandbox

CHANNEL = "C0INCIDENTS"
REQUESTER = "U0ONCALL"


@dataclass(frozen=True)
class ModelAccess:
    """Where the model answers: the case's scripted transcript, or a live endpoint."""

    mode: str  # "scripted" | "live"
    api_key: str | None = None
    base_url: str | None = None
    turn_timeout_s: float = 120.0
    provider: dict[str, Any] = field(default_factory=dict)
    """Live mode: the provider's settings (PROVIDER_FIELDS) as read with `.env`, for the bot."""


PROVIDER_FIELDS = (
    "model_provider", "model", "router_model", "model_features", "aws_region",
    "aws_bearer_token_bedrock", "bedrock_base_url", "vertex_project_id", "vertex_region",
    "vertex_base_url",
)  # fmt: skip
"""The settings that say which model answers and where (agents/model_client.py)."""


async def run_case(
    case: Case, access: ModelAccess, work: Path, database_url: str | None = None
) -> CaseSeen:
    """Run every turn of `case` in a fresh workspace, database and Slack; what was seen.

    `database_url` (default: a new SQLite file in `work`) must name an empty database. A
    captured case (`replay:`) gets the recorded tool layer before its first message."""
    seen = CaseSeen()
    workspace = prepare_workspace(case, work)
    world = None
    if case.fixture.pull_request is not None:
        world = await pull_requests.start_world(case.fixture.pull_request, workspace, work)
        workspace = world.checkout
    mcp_config = prepare_mcp(case, work)
    try:
        metrics = await _metrics_for(case, work)
    except RuntimeError as error:
        seen.error = f"the incident's Prometheus did not start: {error}"
        return seen
    if metrics is not None and metrics.url is None:
        seen.error = f"the case needs Prometheus: {metrics.line}"
        return seen
    model = await start_model_server(offline_script(case)) if access.mode == "scripted" else None
    slack = await start_slack(SandboxConfig())
    database_url = database_url or f"sqlite:///{work / 'opsbot.sqlite'}"
    tables = RunTables(database_url)
    stop = asyncio.Event()
    settings = load_settings(
        _env_file=None, database_url=database_url, workspace=workspace, log_sources=[LOG_GLOB],
        anthropic_api_key=access.api_key if model is None else "scripted-model",
        anthropic_base_url=access.base_url if model is None else model.url,
        **(access.provider if model is None else {"model_provider": "anthropic"}),
        slack_bot_token=slack.sandbox.workspace.bot_token, slack_api_url=slack.api_url,
        slack_app_token=slack.sandbox.workspace.app_token, approvers=[APPROVER],
        executor_id="eval", poll_interval_s=0.1, fault=None, otel_exporter_otlp_endpoint=None,
        **({"mcp_config": mcp_config} if mcp_config is not None else {}),
        **({"prometheus_url": metrics.url} if metrics is not None else {}),
        **(world.settings if world is not None else {"change_mode": "workspace"}),
    )  # fmt: skip
    with (work / "bot.log").open("w") as log, contextlib.redirect_stdout(log):
        handler = _log_to(log)
        bot = asyncio.create_task(run_until_stopped(settings, stop))
        try:
            await _connected(slack.sandbox, bot)
            if case.replay is not None:
                install_recording(runtime.current_engine(), case.replay)
            await _converse(case, slack, tables, access, seen)
        except Exception as error:  # reported as the case's error, never a crash of the run
            seen.error = f"{type(error).__name__}: {error}"
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bot, 30)
            logging.getLogger().removeHandler(handler)
            logging.getLogger("dbos").removeHandler(handler)
            tables.close()
            await slack.stop()
            if model is not None:
                await model.stop()
            if metrics is not None:
                await stop_incident_metrics(metrics.process)
    if world is not None:
        seen.pull_requests = pull_requests.observe(world)
        await world.forge.stop()
        workspace = pull_requests.branch_files(world, work) or world.checkout
    _inspect_workspace(case, workspace, seen)
    return seen


async def _metrics_for(case: Case, work: Path) -> IncidentMetrics | None:
    """The Prometheus with the incident's metrics for a case of the latency-spike scenario
    (its URL None when Prometheus is not installed), or None for other cases."""
    if case.fixture.scenario != METRICS_INCIDENT:
        return None
    return await start_incident_metrics(work / "prometheus")


def _log_to(stream: Any) -> logging.Handler:
    """The bot's log records, DBOS's included (it logs through its own handler), go to the
    case's bot.log instead of the progress output."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    dbos = logging.getLogger("dbos")
    for own in list(dbos.handlers):
        dbos.removeHandler(own)
    dbos.addHandler(handler)
    return handler


async def _connected(sandbox: SlackSandbox, bot: asyncio.Task[None]) -> None:
    for _ in range(400):
        if bot.done():
            bot.result()
            raise RuntimeError("opsbot stopped while starting")
        if getattr(sandbox.delivery, "connections", None):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("opsbot did not connect to the local Slack workspace")


async def _converse(
    case: Case, slack: RunningSlack, tables: RunTables, access: ModelAccess, seen: CaseSeen
) -> None:
    sandbox = slack.sandbox
    space = sandbox.workspace
    root: str | None = None
    for turn in case.turns:
        text = turn.say if root is not None else f"<@{space.bot.id}> {turn.say}"
        started = time.monotonic()
        posted = await sandbox.post_as(REQUESTER, CHANNEL, text, thread_ts=root)
        root = root or posted.ts
        observed = TurnSeen(run_id=f"{space.team_id}:{CHANNEL}:{posted.ts}", say=turn.say)
        seen.turns.append(observed)
        observed.timed_out = not await _until_answered(
            sandbox, tables, turn, observed.run_id, root, len(seen.turns), access.turn_timeout_s
        )
        observed.latency_s = time.monotonic() - started
        tables.fill(observed)
        shown = _turns_shown(sandbox, root)
        observed.shown = shown[len(seen.turns) - 1] if len(shown) >= len(seen.turns) else ""
        if not observed.shown:
            observed.answer = ""
        if observed.timed_out:
            break


def _final_answers(sandbox: SlackSandbox, root: str) -> list[str]:
    """The text of each turn's final message (the one with the usage footer), in order."""
    return [
        str(m["text"]) for m in sandbox.rendered_thread(CHANNEL, root)
        if m["user"] == sandbox.workspace.bot.id and "tokens" in str(m["blocks"] or "")
        and not m["streaming"]
    ]  # fmt: skip


def _turns_shown(sandbox: SlackSandbox, root: str) -> list[str]:
    """For each turn that has ended, the text of every message the bot posted in the thread
    for it: its live messages (the answer streams there, shown once) up to its final one."""
    turns: list[str] = []
    current: list[str] = []
    for message in sandbox.rendered_thread(CHANNEL, root):
        if message["user"] != sandbox.workspace.bot.id:
            continue
        current.append(str(message["text"]))
        if "tokens" in str(message["blocks"] or "") and not message["streaming"]:
            turns.append("\n".join(current))
            current = []
    return turns


async def _until_answered(
    sandbox: SlackSandbox, tables: RunTables, turn: CaseTurn, run_id: str, root: str,
    answers: int, timeout_s: float,
) -> bool:  # fmt: skip
    """Answer the run's cards as the case says until its final message is in the thread."""
    decided: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for approval_id, tool, card_ts in tables.pending_cards(run_id):
            if approval_id not in decided:
                decided.add(approval_id)
                decision = turn.decide.get(tool, "approve")
                await answer_card(sandbox, approval_id, card_ts, decision, turn.reject_reason)
        if len(_final_answers(sandbox, root)) >= answers and tables.finished(run_id):
            return await _workflow_ended(run_id, deadline)
        await asyncio.sleep(0.1)
    return False


async def _workflow_ended(run_id: str, deadline: float) -> bool:
    """Until DBOS has recorded the run's end too (stopping the bot before that would leave
    the workflow to be recovered, and log its interruption)."""
    while time.monotonic() < deadline:
        status = await DBOS.get_workflow_status_async(run_id)
        if status is not None and status.status in ("SUCCESS", "ERROR", "CANCELLED"):
            return True
        await asyncio.sleep(0.05)
    return False


def _inspect_workspace(case: Case, workspace: Path, seen: CaseSeen) -> None:
    for relative in case.expect.files_contain:
        path = workspace / relative
        seen.files[relative] = path.read_text(encoding="utf-8") if path.is_file() else None
    for relative in case.expect.files_gone:
        seen.files[relative] = None if not (workspace / relative).exists() else "(still there)"
    for relative in case.expect.files_unchanged:
        status = subprocess.run(["git", "status", "--porcelain", "--", relative], cwd=workspace,
                                capture_output=True, text=True, check=False)  # fmt: skip
        seen.changed[relative] = bool(status.stdout.strip()) or status.returncode != 0
    check = case.expect.check
    if check is None:
        return
    try:
        done = subprocess.run(check.command, cwd=workspace, capture_output=True, text=True,
                              timeout=check.timeout_s, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        seen.check_exit, seen.check_output = -1, str(error)
        return
    seen.check_exit, seen.check_output = done.returncode, (done.stdout + done.stderr)[-2000:]
