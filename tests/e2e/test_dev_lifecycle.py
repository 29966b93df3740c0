"""`opsbot dev`'s parts never outlive it (a closed terminal, SIGTERM, SIGINT, SIGKILL), taken
ports are one line before anything starts, and a bot only talks to its own workspace."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.dev import check_own_workspace, new_credentials
from sandbox.metrics.prometheus import find_binaries
from sandbox.slack.app import start_slack
from sandbox.slack.server import SandboxConfig
from tests.e2e.dev_process import ROOT, alive, children_of, free_port, served, start_dev

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
async def test_the_parts_end_with_opsbot_dev_however_it_ends(
    tmp_path: Path, sig: signal.Signals
) -> None:
    dev = await start_dev(tmp_path / "dev")
    parts = children_of(dev.process.pid)
    # the workspace, the scripted model, the bot, and the incident's Prometheus when installed
    assert len(parts) == (4 if find_binaries() else 3), parts
    os.kill(dev.process.pid, sig)
    await asyncio.wait_for(dev.process.wait(), 30)
    await dev.reader
    deadline = time.monotonic() + 20  # SIGKILL: the bot gets SIGTERM and has 8 s
    for _ in range(100):
        if time.monotonic() > deadline or not any(alive(p) for p in parts):
            break
        await asyncio.sleep(0.2)
    assert not [p for p in parts if alive(p)], "".join(dev.output[-30:])
    assert not [p for p in dev.ports if served(p)]
    if sig != signal.SIGKILL:
        assert dev.process.returncode == 0, "".join(dev.output[-30:])


@pytest.mark.parametrize(("held", "flag"), [(0, "--slack-port"), (1, "--model-port"),
                                            (2, "--bot-port")])  # fmt: skip
async def test_a_taken_port_is_one_line_before_anything_starts(
    tmp_path: Path, held: int, flag: str
) -> None:
    ports = [free_port() for _ in range(3)]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[held]))
        holder.listen()
        env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "dev", "--dir", str(tmp_path / "dev"),
            "--slack-port", str(ports[0]), "--model-port", str(ports[1]),
            "--bot-port", str(ports[2]), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert f"port {ports[held]} " in lines[0]
    assert flag in lines[0]
    assert "in use" in lines[0]
    assert out == b""
    assert not (tmp_path / "dev").exists(), "nothing was prepared or started"


async def test_the_workspace_accepts_only_the_credentials_it_was_started_with() -> None:
    ours, theirs = new_credentials(), new_credentials()
    config = SandboxConfig(credentials={
        "bot_token": ours["SLACK_BOT_TOKEN"], "app_token": ours["SLACK_APP_TOKEN"],
        "signing_secret": ours["SLACK_SIGNING_SECRET"]})  # fmt: skip
    slack = await start_slack(config)
    other = await start_slack(SandboxConfig())  # another checkout's `make dev`
    try:
        await check_own_workspace(slack.url, ours)
        with pytest.raises(RuntimeError, match="not as the workspace this run started"):
            await check_own_workspace(other.url, ours)
        with pytest.raises(RuntimeError, match="not as the workspace this run started"):
            await check_own_workspace(slack.url, theirs)
        good = await AsyncWebClient(ours["SLACK_BOT_TOKEN"], base_url=slack.api_url).auth_test()
        assert good["ok"]
        for token, url in ((theirs["SLACK_BOT_TOKEN"], slack.api_url),
                           (ours["SLACK_BOT_TOKEN"], other.api_url)):  # fmt: skip
            with pytest.raises(SlackApiError, match="invalid_auth"):
                await AsyncWebClient(token, base_url=url).auth_test()
    finally:
        await slack.stop()
        await other.stop()


@pytest.mark.parametrize(("sig", "after_s"), [(signal.SIGINT, 1.5), (signal.SIGTERM, 3.0),
                                              (signal.SIGHUP, 4.5)])  # fmt: skip
async def test_a_signal_while_dev_starts_stops_what_has_started(
    tmp_path: Path, sig: signal.Signals, after_s: float
) -> None:
    ports = [free_port() for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "dev", "--dir", str(tmp_path / "dev"),
        "--slack-port", str(ports[0]), "--model-port", str(ports[1]),
        "--bot-port", str(ports[2]), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    await asyncio.sleep(after_s)  # the workspace, the model or the bot is starting
    parts = children_of(process.pid)
    started = time.monotonic()
    process.send_signal(sig)
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert time.monotonic() - started < 15, out.decode()
    for _ in range(50):
        if not any(alive(p) for p in parts):
            break
        await asyncio.sleep(0.2)
    assert not [p for p in parts if alive(p)], out.decode()
    assert not [p for p in ports if served(p)], out.decode()
    assert b"Traceback" not in out
