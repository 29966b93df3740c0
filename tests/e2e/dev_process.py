"""`opsbot dev` as a subprocess on free ports, driven over HTTP like a person's browser would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "C0INCIDENTS"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Dev:
    """A running `opsbot dev`: the page's URL and the process."""

    url: str
    process: asyncio.subprocess.Process
    output: list[str]
    bot_port: int
    model_port: int
    ports: list[int]
    reader: asyncio.Task[None]

    async def get(self, path: str, **params: str) -> Any:
        """GET a sandbox endpoint as JSON."""
        async with aiohttp.ClientSession() as session, session.get(
            self.url + path, params=params
        ) as answer:  # fmt: skip
            return await answer.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a person's action."""
        async with aiohttp.ClientSession() as session, session.post(
            self.url + path, json=body
        ) as answer:  # fmt: skip
            return await answer.json()

    async def thread(self, ts: str) -> list[dict[str, Any]]:
        """The thread as a person sees it."""
        return list((await self.get("/_sandbox/thread", channel=CHANNEL, ts=ts))["thread"])

    async def until(self, probe: Callable[[], Any], timeout_s: float = 60.0) -> Any:
        """Poll an async `probe()` until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if value := await probe():
                return value
            await asyncio.sleep(0.2)
        raise AssertionError("timed out; opsbot dev said:\n" + "".join(self.output[-40:]))


async def _read(stream: asyncio.StreamReader, into: list[str], ready: asyncio.Event) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))
        if "opsbot is running" in into[-1]:
            ready.set()


async def start_dev(
    directory: Path, env: dict[str, str] | None = None, ports: list[int] | None = None
) -> Dev:
    """Start `opsbot dev` on free ports (or `ports`) and wait until it says it is running.

    The scripted model is used unless `env` gives an API key (the machine's own is ignored).
    """
    ports = ports or [free_port() for _ in range(3)]
    model_keys = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPSBOT_MODEL")
    environment = {k: v for k, v in os.environ.items() if k not in model_keys} | (env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "dev", "--dir", str(directory),
        "--slack-port", str(ports[0]), "--model-port", str(ports[1]), "--bot-port", str(ports[2]),
        cwd=ROOT, env=environment, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, limit=16 * 1024 * 1024,  # a long log line is no error
    )  # fmt: skip
    assert process.stdout is not None
    output: list[str] = []
    ready = asyncio.Event()
    reader = asyncio.create_task(_read(process.stdout, output, ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([waiting, asyncio.create_task(process.wait())], timeout=60,
                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    dev = Dev(f"http://127.0.0.1:{ports[0]}", process, output, ports[2], ports[1], ports, reader)
    if not ready.is_set():
        if process.returncode is None:
            process.kill()
        await process.wait()
        await reader
        raise AssertionError("opsbot dev did not start:\n" + "".join(output))
    return dev


@asynccontextmanager
async def running_dev(directory: Path, env: dict[str, str] | None = None) -> AsyncIterator[Dev]:
    """Start `opsbot dev`, wait for its URL, and on exit stop it with SIGINT (like Ctrl-C)."""
    dev = await start_dev(directory, env)
    process = dev.process
    try:
        yield dev
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 40)
        await dev.reader
    assert code == 0, "opsbot dev did not stop cleanly:\n" + "".join(dev.output[-40:])
    for port in dev.ports:
        assert not served(port), f"port {port} still served"


def served(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == str(pid):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper does not)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _stat(pid: int) -> list[str] | None:
    """State and parent pid of `pid`, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()[:2]
