"""The attacked world: a real git workspace, a canary tree beside it and a TCP listener."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.harness import World, new_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = new_world(tmp_path)
    try:
        yield built
    finally:
        built.close()
