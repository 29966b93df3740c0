"""The `opsbot` command line: a version, a description for every subcommand, and read
commands that read the database `opsbot dev` wrote (or say which one they read)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from agents import audit
from bot.cli_parser import parser
from core import migrate
from core.db import Database, make_engine

ROOT = Path(__file__).resolve().parents[2]


def opsbot(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "ANTHROPIC_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_version_prints_the_package_version() -> None:
    result = opsbot("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"opsbot {version('opsbot')}"


def _subcommands(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[f"{top.prog} {name}".removeprefix("opsbot ")] = sub
                found |= _subcommands(sub)
    return found


def test_every_subcommand_has_a_description_and_a_summary() -> None:
    subcommands = _subcommands(parser())
    assert {"ask", "serve", "dev", "audit", "workers", "runs", "runs show", "migrate"} <= set(
        subcommands
    )
    for name, sub in subcommands.items():
        assert len(sub.description or "") > 20, name
    listed = opsbot("--help").stdout
    for name in ("ask", "serve", "dev", "audit", "workers", "runs", "migrate", "eval"):
        summary = next(line for line in listed.splitlines() if line.strip().startswith(name))
        assert len(summary.split()) > 2, f"{name} has a one-line summary in --help"


@pytest.mark.parametrize("command", ["serve", "dev", "audit", "runs show"])
def test_subcommand_help_shows_its_description(command: str) -> None:
    result = opsbot(*command.split(), "--help")
    assert result.returncode == 0
    description = " ".join(parser_of(command).description.split())  # type: ignore[union-attr]
    assert description[:40] in " ".join(result.stdout.split())


def parser_of(command: str) -> argparse.ArgumentParser:
    return _subcommands(parser())[command]


def database_with_row(path: Path, detail: str) -> None:
    """A migrated SQLite database at `path` whose audit log has one row carrying `detail`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    database = Database(make_engine(f"sqlite:///{path}"))
    migrate.upgrade(database.engine)
    database.transact(lambda s: audit.add(s, action="approve", outcome="refused",
                                          actor="U0VIEWER", detail=detail))  # fmt: skip
    database.dispose()


def test_audit_from_the_repository_root_reads_the_dev_database(tmp_path: Path) -> None:
    database_with_row(tmp_path / ".dev" / "opsbot.sqlite", "row-of-dev")
    result = opsbot("audit", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "row-of-dev" in result.stdout
    assert f"database: sqlite:///{tmp_path / '.dev' / 'opsbot.sqlite'} (opsbot dev's)" in (
        result.stderr
    )
    assert not (tmp_path / "opsbot.sqlite").exists(), "no empty default database is made"


def test_workers_from_the_repository_root_reads_the_dev_database(tmp_path: Path) -> None:
    database_with_row(tmp_path / ".dev" / "opsbot.sqlite", "row-of-dev")
    result = opsbot("workers", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(opsbot dev's)" in result.stderr
    assert not (tmp_path / "opsbot.sqlite").exists()


def test_with_both_databases_audit_reads_the_default_and_names_the_dev_one(
    tmp_path: Path,
) -> None:
    database_with_row(tmp_path / ".dev" / "opsbot.sqlite", "row-of-dev")
    database_with_row(tmp_path / "opsbot.sqlite", "row-of-serve")
    result = opsbot("audit", cwd=tmp_path)
    assert "row-of-serve" in result.stdout
    assert "row-of-dev" not in result.stdout
    assert "OPSBOT_DATABASE_URL=sqlite:///.dev/opsbot.sqlite reads it" in result.stderr


def test_an_explicit_database_url_wins_and_is_named(tmp_path: Path) -> None:
    database_with_row(tmp_path / ".dev" / "opsbot.sqlite", "row-of-dev")
    database_with_row(tmp_path / "elsewhere.sqlite", "row-elsewhere")
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    result = opsbot("audit", cwd=tmp_path, OPSBOT_DATABASE_URL=url)
    assert "row-elsewhere" in result.stdout
    assert f"database: {url} (OPSBOT_DATABASE_URL)" in result.stderr
