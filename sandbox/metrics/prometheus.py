"""A Prometheus holding a bundled incident's metrics: files, backfill and command line.

The incident's samples (`sandbox.metrics.incident`) lie at fixed times in the past, so they are
written as OpenMetrics and turned into TSDB blocks with `promtool tsdb create-blocks-from
openmetrics` (https://prometheus.io/docs/prometheus/latest/storage/#backfilling-from-openmetrics-format);
Prometheus then serves them with a retention long enough to keep them. It scrapes nothing and
evaluates the scenario's alerting rules. Starting and stopping the process is the caller's
(`bot.dev_metrics`), so it is supervised like the other parts of `opsbot dev`.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from sandbox.metrics.incident import END, START, write_openmetrics

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
INCIDENT = "latency-spike"
"""The bundled scenario whose metrics these are."""
RULES = SCENARIOS_DIR / INCIDENT / "prometheus-rules.yml"
RETENTION = "10y"
INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager"
COMMAND_TIMEOUT_S = 60.0


class MetricsError(Exception):
    """The incident's Prometheus cannot be prepared; the message says why (promtool's words)."""


@dataclass(frozen=True)
class Binaries:
    """Where Debian's `prometheus` and `promtool` are."""

    prometheus: str
    promtool: str


def find_binaries(path: str | None = None) -> Binaries | None:
    """`prometheus` and `promtool` on `path` (default: PATH), or None when either is missing."""
    prometheus, promtool = (
        shutil.which("prometheus", path=path),
        shutil.which("promtool", path=path),
    )
    if prometheus is None or promtool is None:
        return None
    return Binaries(prometheus, promtool)


def not_installed_line() -> str:
    """The start line of `opsbot dev` without Prometheus: how to get it, what still runs."""
    return (f"metrics: Prometheus is not installed ({INSTALL_HINT}); the {INCIDENT} incident "
            "runs without metrics")  # fmt: skip


def running_line(version: str, url: str) -> str:
    """The start line of `opsbot dev` with the incident's Prometheus at `url`."""
    window = f"{START:%Y-%m-%d %H:%M} to {END:%H:%M} UTC"
    return f"metrics: Prometheus {version} at {url} with the {INCIDENT} incident ({window})"


def version_of(binary: str) -> str:
    """The version `binary --version` prints (e.g. "2.42.0"), or "(unknown version)"."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "(unknown version)"
    found = re.search(r"version (\d+\.\d+\.\d+)", done.stdout + done.stderr)
    return found.group(1) if found else "(unknown version)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def prepare(directory: Path, binaries: Binaries) -> Path:
    """Make `directory` a fresh Prometheus home for the incident: `metrics.om`, the TSDB
    backfilled from it (`data/`, an earlier one is replaced) and `prometheus.yml` with the
    scenario's rules. Returns the configuration's path; `MetricsError` when promtool fails."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "data"
    shutil.rmtree(data, ignore_errors=True)
    samples = write_openmetrics(directory / "metrics.om")
    command = [binaries.promtool, "tsdb", "create-blocks-from", "openmetrics", str(samples),
               str(data)]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise MetricsError(f"promtool could not backfill {samples}: {error}") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()[-800:]
        raise MetricsError(
            f"promtool could not backfill {samples} (exit {done.returncode}): {said}"
        )
    config = directory / "prometheus.yml"
    settings = {"global": {"evaluation_interval": "15s"}, "rule_files": [str(RULES)]}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


def command_line(binaries: Binaries, directory: Path, port: int) -> list[str]:
    """The `prometheus` command serving `directory` (made by `prepare`) on 127.0.0.1:`port`."""
    return [
        binaries.prometheus,
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=error",  # its "exiting gracefully" on SIGTERM is no warning to show
    ]
