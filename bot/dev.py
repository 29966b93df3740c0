"""`opsbot dev`: the local Slack page, the scripted model and the bot, started together.

Everything lives under one folder (default `.dev/`): the bot's SQLite database, the incident
workspace it works in, and the page's messages, so running it again keeps the history. With
Prometheus installed, the latency-spike incident's metrics are served too (`bot.dev_metrics`).
Ctrl-C, SIGTERM or a closed terminal (SIGHUP) stops the bot first, then the model and the
workspace; if `opsbot dev` itself is killed, its parts get SIGTERM from the kernel. The ports
are checked before anything starts, and the workspace accepts only this run's credentials.
One `opsbot dev` per folder (`bot.dev_lock`): a second one on the same `--dir` exits 2.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.child_process import Port, busy_port, spawn, stop_in_order
from bot.dev_lock import DevLock, FolderTaken, hold_folder
from bot.dev_metrics import start_incident_metrics
from core.settings import DEFAULT_MODEL

STOP_GRACE_S = 12.0  # the bot exits within 8 s of SIGTERM (bot.serve)


@dataclass(frozen=True)
class DevPorts:
    """Where each part listens."""

    slack: int = 8765
    model: int = 8766
    bot: int = 8767


def prepare_workspace(root: Path) -> Path:
    """The incident workspace: every bundled scenario's code and logs in one git repository.

    Made once; an existing one is kept with whatever the agents changed in it.
    """
    from sandbox.model.scenario import SCENARIOS_DIR, bundled_names

    root.mkdir(parents=True, exist_ok=True)
    workspace = root / "workspace"
    if workspace.exists():
        return workspace
    building = root / "workspace.building"
    shutil.rmtree(building, ignore_errors=True)
    for name in bundled_names():
        source = SCENARIOS_DIR / name
        shutil.copytree(source / "workspace", building, dirs_exist_ok=True)
        if (source / "logs").is_dir():
            shutil.copytree(source / "logs", building / "logs", dirs_exist_ok=True)
    git = ["git", "-c", "user.name=opsbot-dev", "-c", "user.email=dev@opsbot.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the incident workspace"]):
        subprocess.run([*git, *step], cwd=building, check=True, capture_output=True)
    building.rename(workspace)
    return workspace


def mcp_for_dev(root: Path) -> dict[str, str]:
    """The environment that gives the bot the bundled scenarios' MCP servers (`mcp.json` in
    `root`, their state kept there across runs) unless OPSBOT_MCP_CONFIG is set already, and
    tells the page where the deploy history is (picking bad-deploy again resets it)."""
    from sandbox.mcp.config import DEPLOYS_STATE, own_config_note, write_mcp_config
    from sandbox.model.scenario import bundled_names
    from sandbox.slack.incident_reset import DEPLOYS_STATE_ENV

    env = {DEPLOYS_STATE_ENV: str(root / DEPLOYS_STATE)}
    if os.environ.get("OPSBOT_MCP_CONFIG"):
        if note := own_config_note(bundled_names()):
            print(f"opsbot dev: {note}", file=sys.stderr, flush=True)
        return env
    written = write_mcp_config(root, bundled_names())
    return env if written is None else {**env, "OPSBOT_MCP_CONFIG": str(written)}


async def _wait_http(url: str, process: asyncio.subprocess.Process, what: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError(f"{what} stopped during start (exit {process.returncode})")
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as answer:
                    if answer.status < 500:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not answer at {url}")


def new_credentials() -> dict[str, str]:
    """Slack credentials of this run only: the workspace accepts them, and no other bot."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-dev-" + secrets.token_hex(12),
        "SLACK_APP_TOKEN": "xapp-1-dev-" + secrets.token_hex(12),
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
    }


async def check_own_workspace(slack_url: str, credentials: dict[str, str]) -> None:
    """Raise `RuntimeError` unless the workspace at `slack_url` is the one started with
    `credentials` (another checkout's `opsbot dev` may answer on the same port)."""
    async with aiohttp.ClientSession() as session, session.get(
        f"{slack_url}/_sandbox/credentials"
    ) as answer:  # fmt: skip
        body = await answer.json()
    if body.get("credentials", {}).get("SLACK_BOT_TOKEN") != credentials["SLACK_BOT_TOKEN"]:
        raise RuntimeError(f"{slack_url} answers, but not as the workspace this run started")


def dev_ports(ports: DevPorts, with_model: bool) -> list[Port]:
    """What `opsbot dev` listens on, each with the flag that moves it."""
    chosen = [Port(ports.slack, "the local Slack page", "--slack-port")]
    if with_model:
        chosen.append(Port(ports.model, "the scripted model", "--model-port"))
    return [*chosen, Port(ports.bot, "the bot's /healthz and /runs", "--bot-port")]


def claim_folder_and_ports(root: Path, ports: list[Port]) -> DevLock | str:
    """This process's lock on `root`, or the one line saying why not: another `opsbot dev`
    holds the folder (named first, as its ports then differ or are its own), or ports are taken
    (then a new folder is not even created)."""
    lock: DevLock | None = None
    try:
        if root.is_dir():
            lock = hold_folder(root)
        if busy := busy_port(ports):
            if lock is not None:
                lock.release()
            return f"opsbot dev: {busy}"
        return lock or hold_folder(root)
    except FolderTaken as taken:
        return str(taken)


async def run_dev(
    root: Path, ports: DevPorts, stop: asyncio.Event, ready: asyncio.Event | None = None
) -> int:
    """Check the ports, start the three parts, print the URL (and set `ready`), wait for `stop`
    or a part's death, stop them. Returns the exit code: 0 stopped, 1 a part failed, 2 a port
    is taken or another `opsbot dev` holds `root`. Cancelled, it stops what it started."""
    live_key = os.environ.get("ANTHROPIC_API_KEY")
    claimed = claim_folder_and_ports(root, dev_ports(ports, with_model=not live_key))
    if isinstance(claimed, str):
        print(claimed, file=sys.stderr)
        return 2
    lock = claimed
    try:
        return await _run_parts(root, ports, stop, ready, live_key)
    finally:
        lock.release()


async def _run_parts(
    root: Path, ports: DevPorts, stop: asyncio.Event, ready: asyncio.Event | None,
    live_key: str | None,
) -> int:  # fmt: skip
    workspace = await asyncio.to_thread(prepare_workspace, root)
    mcp_env = await asyncio.to_thread(mcp_for_dev, root)
    slack_url, model_url = f"http://127.0.0.1:{ports.slack}", f"http://127.0.0.1:{ports.model}"
    model_name = os.environ.get("OPSBOT_MODEL", DEFAULT_MODEL)
    banner = f"live model: {model_name}" if live_key else "scripted model (no API key)"
    python = sys.executable
    credentials = new_credentials()
    started: list[asyncio.subprocess.Process] = []
    try:
        slack = await spawn(
            python, "-m", "sandbox.slack", "--port", str(ports.slack), "--scenarios", "all",
            "--state", str(root / "slack.json"), "--banner", banner,
            "--app-runs-url", f"http://127.0.0.1:{ports.bot}/runs",
            env={**os.environ, **{f"SANDBOX_{k}": v for k, v in credentials.items()},
                 "SANDBOX_INCIDENT_WORKSPACE": str(workspace), **mcp_env},
        )  # fmt: skip
        started.append(slack)
        await _wait_http(f"{slack_url}/_sandbox/credentials", slack, "the local Slack")
        await check_own_workspace(slack_url, credentials)
        metrics = await start_incident_metrics(root / "prometheus")
        if metrics.process is not None:
            started.append(metrics.process)  # stopped after the bot that queries it
        print(metrics.line, flush=True)
        if not live_key:
            model = await spawn(
                python, "-m", "sandbox.model", "--port", str(ports.model), "--scenario", "all",
                "--latency-ms", "300", "--tokens-per-second", "60",
            )  # fmt: skip
            started.insert(0, model)
            await _wait_http(f"{model_url}/_sandbox/requests", model, "the scripted model")
        env = {
            **os.environ, **credentials, "OPSBOT_SLACK_API_URL": f"{slack_url}/api/",
            "OPSBOT_DATABASE_URL": f"sqlite:///{root / 'opsbot.sqlite'}",
            "OPSBOT_WORKSPACE": str(workspace), "OPSBOT_LOG_SOURCES": "logs/*.log",
            "OPSBOT_APPROVERS": os.environ.get("OPSBOT_APPROVERS", "S0ONCALL"),
            "OPSBOT_HEALTH_PORT": str(ports.bot), "OPSBOT_RUNS_API": "true",
            "OPSBOT_POLL_INTERVAL_S": "0.2", **mcp_env, **metrics.environment(),
        }  # fmt: skip
        if not live_key:
            env.update(ANTHROPIC_API_KEY="scripted-model", ANTHROPIC_BASE_URL=model_url)
        bot = await spawn(python, "-m", "bot.cli", "serve", env=env)
        started.insert(0, bot)
        await _wait_http(f"http://127.0.0.1:{ports.bot}/healthz", bot, "opsbot")
        if ready is not None:
            ready.set()
        print(f"\nopsbot is running. Open {slack_url} and mention @opsbot in #incidents."
              f"\n{banner}; data in {root}. Ctrl-C stops everything.\n", flush=True)  # fmt: skip
        waiters = [asyncio.create_task(p.wait()) for p in started]
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*waiters, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for waiter in waiters:
            waiter.cancel()
        if stopping not in done:
            print("a part of opsbot dev stopped; stopping the rest", file=sys.stderr)
            return 1
        return 0
    except RuntimeError as error:
        print(f"opsbot dev: {error}", file=sys.stderr)
        return 1
    finally:
        await stop_in_order(started, STOP_GRACE_S)


async def dev(root: Path, ports: DevPorts) -> int:
    """`opsbot dev` until SIGINT, SIGTERM or SIGHUP (its terminal closed); a signal while it
    starts stops what has started. The parts end with it even when it is killed
    (see `bot.child_process`)."""
    stop, ready = asyncio.Event(), asyncio.Event()
    work = asyncio.create_task(run_dev(root, ports, stop, ready))

    def on_signal() -> None:
        stop.set()
        if not ready.is_set():
            work.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, on_signal)
    try:
        return await work
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
        print("opsbot dev: stopped while starting", file=sys.stderr)
        return 0
