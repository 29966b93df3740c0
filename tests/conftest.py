"""Fixtures: a database per test (SQLite, and PostgreSQL when configured), the scripted model."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
