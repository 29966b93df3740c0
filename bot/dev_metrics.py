"""The bundled latency-spike incident's Prometheus for `opsbot dev` and `opsbot eval`.

With Debian's `prometheus` and `promtool` on PATH, the incident's metrics are backfilled into a
fresh TSDB (`sandbox.metrics.prometheus`) and Prometheus serves them on a free port, started
with `bot.child_process.spawn` so it ends with its parent; without them the incident runs
without metrics and the start line says how to install them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.child_process import spawn
from sandbox.metrics.prometheus import (
    MetricsError,
    command_line,
    find_binaries,
    free_port,
    not_installed_line,
    prepare,
    running_line,
    version_of,
)

READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class IncidentMetrics:
    """The incident's Prometheus: its process and URL (None when not installed) and the line
    that tells a person which it is."""

    process: asyncio.subprocess.Process | None
    url: str | None
    line: str

    def environment(self) -> dict[str, str]:
        """What the bot needs to query it: OPSBOT_PROMETHEUS_URL, or nothing."""
        return {"OPSBOT_PROMETHEUS_URL": self.url} if self.url else {}


async def _ready(url: str, process: asyncio.subprocess.Process) -> None:
    """Wait until Prometheus answers `/-/ready` with 200; `RuntimeError` if it exits or
    takes longer than READY_TIMEOUT_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"Prometheus stopped during start (exit {process.returncode})")
            try:
                limit = aiohttp.ClientTimeout(total=1)
                async with session.get(f"{url}/-/ready", timeout=limit) as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"Prometheus did not get ready at {url} within {READY_TIMEOUT_S:.0f} s")


async def start_incident_metrics(home: Path, search_path: str | None = None) -> IncidentMetrics:
    """Start the incident's Prometheus in `home` (its data rebuilt there) when `prometheus`
    and `promtool` are on `search_path` (default PATH). `RuntimeError` when they are there but
    the backfill or the start fails (a started process is stopped first)."""
    binaries = find_binaries(search_path if search_path is not None else os.environ.get("PATH"))
    if binaries is None:
        return IncidentMetrics(None, None, not_installed_line())
    try:
        await asyncio.to_thread(prepare, home, binaries)
    except MetricsError as error:
        raise RuntimeError(str(error)) from None
    version = await asyncio.to_thread(version_of, binaries.prometheus)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = await spawn(*command_line(binaries, home, port), env=dict(os.environ))
    try:
        await _ready(url, process)
    except BaseException:
        await stop_incident_metrics(process)
        raise
    return IncidentMetrics(process, url, running_line(version, url))


async def stop_incident_metrics(process: asyncio.subprocess.Process | None) -> None:
    """SIGTERM Prometheus and wait for it (SIGKILL after 10 s)."""
    if process is None or process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()
