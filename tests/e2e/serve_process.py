"""`opsbot serve` as its own process against the local workspace, as an operator starts it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.slack.app import RunningSlack

ROOT = Path(__file__).resolve().parents[2]


def serve_env(
    slack: RunningSlack | None, tmp_path: Path, model_url: str = "", **extra: str
) -> dict[str, str]:
    """A clean environment (none of the machine's opsbot, Slack or Anthropic variables): the
    local workspace's credentials (Socket Mode) when `slack` is given, then `extra`."""
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "SLACK_", "ANTHROPIC_"))
    }
    env = {**keep, "PYTHONUNBUFFERED": "1", "ANTHROPIC_API_KEY": "sk-test-not-a-real-key",
           "OPSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
           "OPSBOT_WORKSPACE": str(tmp_path), "OPSBOT_POLL_INTERVAL_S": "0.2"}  # fmt: skip
    if model_url:
        env["ANTHROPIC_BASE_URL"] = model_url
    if slack is not None:
        space = slack.sandbox.workspace
        env |= {"SLACK_BOT_TOKEN": space.bot_token, "SLACK_APP_TOKEN": space.app_token,
                "OPSBOT_SLACK_API_URL": slack.api_url}  # fmt: skip
    return {k: v for k, v in (env | extra).items() if v != ""}  # "" in extra unsets


@dataclass
class Outcome:
    """How a `serve` process ended."""

    code: int
    stdout: str
    stderr: str
    seconds: float


async def start_serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m bot.cli serve` with `env`, output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run_serve(env: dict[str, str], timeout_s: float = 45) -> Outcome:
    """Start `serve` and wait for it to end by itself."""
    started = time.monotonic()
    process = await start_serve(env)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        said = err.decode()[-3000:]
        raise AssertionError(f"serve still ran after {timeout_s} s:\n{said}") from None
    assert process.returncode is not None
    return Outcome(process.returncode, out.decode(), err.decode(), time.monotonic() - started)


async def wait_ready(process: asyncio.subprocess.Process, timeout_s: float = 60) -> str:
    """The first stdout line ("opsbot is @..."), once `serve` is connected."""
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout_s)
    assert line.startswith(b"opsbot is @"), line
    return line.decode()


async def stop_with(process: asyncio.subprocess.Process, sig: signal.Signals) -> Outcome:
    """Send `sig` and wait (at most 15 s) for the process to end; how long it took."""
    started = time.monotonic()
    process.send_signal(sig)
    try:
        out, err = await asyncio.wait_for(process.communicate(), 15)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"serve ignored {sig.name} for 15 s") from None
    assert process.returncode is not None
    return Outcome(process.returncode, out.decode(), err.decode(), time.monotonic() - started)
