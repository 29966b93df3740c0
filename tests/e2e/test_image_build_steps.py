"""The Dockerfile's build stage, run as its steps (no Docker engine here): the build context it
COPYs installs as a regular (non-editable) package that serves, migrates and ships its files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_deploy_files import ROOT, dockerfile

pytestmark = pytest.mark.e2e


def build_context(into: Path) -> Path:
    """Copy exactly what the build stage COPYs."""
    steps = dockerfile()
    froms = [n for n, (i, _) in enumerate(steps) if i == "FROM"]
    for instruction, arguments in steps[froms[0] : froms[1]]:
        if instruction == "COPY":
            *sources, target = arguments.split()
            for source in sources:
                destination = into / (source if target.endswith("/") else target)
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, destination,
                                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(ROOT / source, destination)
    return into


def test_the_build_stage_installs_a_working_opsbot(tmp_path: Path) -> None:
    context = build_context(tmp_path / "context")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(context)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "SLACK_"))}
    env.update(PYTHONPATH=str(site), OPSBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'o.sqlite'}")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=120)  # fmt: skip

    where = run("-c", "import bot, sandbox.slack.page as p; print(bot.__file__); print(p.WEB)")
    assert where.returncode == 0, where.stderr
    bot_file, web = where.stdout.split()
    assert bot_file.startswith(str(site)), "the installed copy, not the checkout"
    for shipped in ("index.html", "app.js", "style.css"):
        assert (Path(web) / shipped).is_file(), shipped
    scenarios = site / "sandbox" / "scenarios"
    assert (scenarios / "disk-full/workspace/ingest/spool/ingest.debug.log.1").is_file()
    assert (scenarios / "payments-timeout/logs/payments.log").is_file()
    assert run("-m", "bot.cli", "--help").returncode == 0
    migrated = run("-m", "bot.cli", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "newest schema" in migrated.stdout
    unset = run("-m", "bot.health")
    assert unset.returncode == 2
    assert "OPSBOT_HEALTH_PORT" in unset.stderr
