"""`opsbot dev`: the local Slack page, the scripted model and the bot, started together.

Everything lives under one folder (default `.dev/`): the bot's SQLite database, the incident
workspace it works in, and the page's messages, so running it again keeps the history.
Ctrl-C (or SIGTERM) stops the bot first, then the model and the workspace.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from core.settings import DEFAULT_MODEL

STOP_GRACE_S = 15.0


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


async def _spawn(*command: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *command, env=env, stdin=asyncio.subprocess.DEVNULL, start_new_session=True
    )


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


async def _credentials(slack_url: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as session, session.get(
        f"{slack_url}/_sandbox/credentials"
    ) as answer:  # fmt: skip
        body = await answer.json()
    return dict(body["credentials"])


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:  # in order: the bot first
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_S)
            except TimeoutError:
                process.kill()
                await process.wait()


async def run_dev(root: Path, ports: DevPorts, stop: asyncio.Event) -> int:
    """Start the three parts, print the URL, wait for `stop` or a part's death, stop them."""
    workspace = await asyncio.to_thread(prepare_workspace, root)
    live_key = os.environ.get("ANTHROPIC_API_KEY")
    slack_url, model_url = f"http://127.0.0.1:{ports.slack}", f"http://127.0.0.1:{ports.model}"
    model_name = os.environ.get("OPSBOT_MODEL", DEFAULT_MODEL)
    banner = f"live model: {model_name}" if live_key else "scripted model (no API key)"
    python = sys.executable
    started: list[asyncio.subprocess.Process] = []
    try:
        slack = await _spawn(
            python, "-m", "sandbox.slack", "--port", str(ports.slack), "--scenarios", "all",
            "--state", str(root / "slack.json"), "--banner", banner,
            "--app-runs-url", f"http://127.0.0.1:{ports.bot}/runs",
        )  # fmt: skip
        started.append(slack)
        await _wait_http(f"{slack_url}/_sandbox/credentials", slack, "the local Slack")
        if not live_key:
            model = await _spawn(
                python, "-m", "sandbox.model", "--port", str(ports.model), "--scenario", "all",
                "--latency-ms", "300", "--tokens-per-second", "60",
            )  # fmt: skip
            started.insert(0, model)
            await _wait_http(f"{model_url}/_sandbox/requests", model, "the scripted model")
        env = {
            **os.environ, **await _credentials(slack_url),
            "OPSBOT_DATABASE_URL": f"sqlite:///{root / 'opsbot.sqlite'}",
            "OPSBOT_WORKSPACE": str(workspace), "OPSBOT_LOG_SOURCES": "logs/*.log",
            "OPSBOT_APPROVERS": os.environ.get("OPSBOT_APPROVERS", "S0ONCALL"),
            "OPSBOT_HEALTH_PORT": str(ports.bot), "OPSBOT_RUNS_API": "true",
            "OPSBOT_POLL_INTERVAL_S": "0.2",
        }  # fmt: skip
        if not live_key:
            env.update(ANTHROPIC_API_KEY="scripted-model", ANTHROPIC_BASE_URL=model_url)
        bot = await _spawn(python, "-m", "bot.cli", "serve", env=env)
        started.insert(0, bot)
        await _wait_http(f"http://127.0.0.1:{ports.bot}/healthz", bot, "opsbot")
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
        await _stop(started)


async def dev(root: Path, ports: DevPorts) -> int:
    """`opsbot dev` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await run_dev(root, ports, stop)
