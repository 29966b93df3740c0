"""Fixtures: a database per test (SQLite, and PostgreSQL when configured), the scripted model."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sandbox.model.scenario import load_scenario
from sandbox.model.server import RunningModelServer, start_model_server
from tests.support import copy_scenario, postgres_url, reset_postgres

DATABASES = ["sqlite"] + (["postgresql"] if postgres_url() else [])


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean database: a new SQLite file, or the emptied PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'opsbot.sqlite'}"
    url = postgres_url()
    assert url is not None
    reset_postgres(url)
    return url


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the checkout-500 scenario's workspace (a git repository with logs)."""
    return copy_scenario("checkout-500", tmp_path)


@pytest.fixture
async def model_server() -> AsyncIterator[RunningModelServer]:
    """The scripted model server replaying checkout-500."""
    server = await start_model_server(load_scenario("checkout-500"))
    yield server
    await server.stop()


def bot_children() -> set[int]:
    """Processes of this test process running opsbot (`python -m bot.cli ...`), from /proc."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == os.getpid() and b"bot.cli" in command and state != "Z":
            found.add(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_bot_left_running() -> Iterator[None]:
    """A bot process a test left running (one that failed before its cleanup) is killed: alive,
    it would poll the next test's database queue and take that test's runs."""
    before = bot_children()
    yield
    for pid in bot_children() - before:
        print(f"killed bot process {pid} left running by this test")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
