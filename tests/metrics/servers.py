"""Real Prometheus and Alertmanager processes (Debian's `prometheus` and
`prometheus-alertmanager`) on free ports with temporary directories, for tests.

Without a binary a test is skipped with the reason shown (pytest `-ra`); under CI (`CI=true`)
it fails instead, since CI installs both (`.ci/run`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"
START_TIMEOUT_S = 30.0


def require_binary(name: str) -> str:
    """The path of Debian's `name`; skips the test visibly without it (fails under CI)."""
    found = shutil.which(name)
    if found is None:
        reason = (
            f"{name} is not installed (apt-get install prometheus "
            "prometheus-alertmanager; .ci/run does)"
        )
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunningServer:
    """A started server: its base URL, its process and the file its output goes to."""

    url: str
    process: asyncio.subprocess.Process
    log: Path
    directory: Path

    def log_tail(self, characters: int = 3000) -> str:
        """The end of the server's output (for a failing assertion's message)."""
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0, what: str = "condition"
) -> None:
    """Poll `check` every 0.2 s until it is true; AssertionError after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


async def _ready(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/-/ready") as answer:
            return answer.status == 200
    except aiohttp.ClientError:
        return False


@asynccontextmanager
async def _run(argv: list[str], url: str, directory: Path) -> AsyncIterator[RunningServer]:
    log = directory / "output.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=directory,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
    server = RunningServer(url, process, log, directory)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not await _ready(url):
            if process.returncode is not None or loop.time() > deadline:
                raise AssertionError(f"{argv[0]} did not start:\n{server.log_tail()}")
            await asyncio.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def prometheus_config(
    targets: Sequence[str],
    rule_files: Sequence[Path] = (),
    alertmanager_url: str | None = None,
    interval: str = "1s",
) -> dict[str, Any]:
    """A Prometheus configuration: scrape `targets` (host:port, job "app") and evaluate
    `rule_files` every `interval`; send alerts to `alertmanager_url` when given."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": interval,
            "evaluation_interval": interval,
            "scrape_timeout": interval,
        },
        "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": list(targets)}]}],
        "rule_files": [str(path) for path in rule_files],
    }
    if alertmanager_url is not None:
        scheme, rest = alertmanager_url.split("://", 1)
        host, _, prefix = rest.partition("/")
        manager: dict[str, Any] = {"scheme": scheme, "static_configs": [{"targets": [host]}]}
        if prefix:
            manager["path_prefix"] = "/" + prefix
        config["alerting"] = {"alertmanagers": [manager]}
    return config


@asynccontextmanager
async def start_prometheus(
    targets: Sequence[str],
    rule_files: Sequence[Path] = (),
    alertmanager_url: str | None = None,
    interval: str = "1s",
    extra_args: Sequence[str] = (),
) -> AsyncIterator[RunningServer]:
    """Prometheus scraping `targets` every `interval` with `rule_files`, alerting
    `alertmanager_url` (alerts resent every second), in a temporary directory; yields once it
    is ready (`/-/ready`) and stops it afterwards."""
    binary = require_binary(PROMETHEUS)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="prometheus-") as tmp:
        directory = Path(tmp)
        config = directory / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(prometheus_config(targets, rule_files, alertmanager_url, interval))
        )
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--rules.alert.resend-delay=1s",
            "--log.level=warn",
            *extra_args,
        ]
        async with _run(argv, f"http://127.0.0.1:{port}", directory) as server:
            yield server


def alertmanager_config(
    webhook_url: str | None = None, bearer_token: str | None = None, interval: str = "1s"
) -> dict[str, Any]:
    """An Alertmanager configuration that groups by alertname, waits `interval` before a
    group's first notification and sends to `webhook_url` (with `bearer_token`), or nowhere."""
    receiver: dict[str, Any] = {"name": "test"}
    if webhook_url is not None:
        hook: dict[str, Any] = {"url": webhook_url, "send_resolved": True}
        if bearer_token is not None:
            hook["http_config"] = {"authorization": {"type": "Bearer", "credentials": bearer_token}}
        receiver["webhook_configs"] = [hook]
    return {
        "route": {
            "receiver": "test",
            "group_by": ["alertname"],
            "group_wait": interval,
            "group_interval": interval,
            "repeat_interval": "1h",
        },
        "receivers": [receiver],
    }


@asynccontextmanager
async def start_alertmanager(
    config: dict[str, Any] | str | None = None, extra_args: Sequence[str] = ()
) -> AsyncIterator[RunningServer]:
    """Alertmanager with `config` (a dict or YAML text; default `alertmanager_config()`), in
    a temporary directory, clustering off; yields once it is ready and stops it afterwards."""
    binary = require_binary(ALERTMANAGER)
    port = free_port()
    text = config if isinstance(config, str) else yaml.safe_dump(config or alertmanager_config())
    with tempfile.TemporaryDirectory(prefix="alertmanager-") as tmp:
        directory = Path(tmp)
        config_file = directory / "alertmanager.yml"
        config_file.write_text(text)
        argv = [
            binary,
            f"--config.file={config_file}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
            *extra_args,
        ]
        async with _run(argv, f"http://127.0.0.1:{port}", directory) as server:
            yield server


def write_rules(path: Path, rules: Sequence[dict[str, Any]], group: str = "app") -> Path:
    """A Prometheus rule file at `path` holding `rules` in one group; returns `path`."""
    path.write_text(yaml.safe_dump({"groups": [{"name": group, "rules": list(rules)}]}))
    return path
