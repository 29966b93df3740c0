"""`make test` on a machine without chromium skips the browser test with its reason in the
summary; under CI (`CI=true`) a missing chromium fails it instead."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.dev_process import ROOT

pytestmark = pytest.mark.e2e
REASON = "the browser test needs Debian's chromium"
BROWSER_TESTS = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests/e2e").glob("test_*.py"))
                 if re.search(r"^from playwright", p.read_text(), re.MULTILINE)]  # fmt: skip


def pytest_without_chromium(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The browser tests in a child pytest whose PATH has no chromium."""
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", *BROWSER_TESTS, "-p", "no:cacheprovider"],
        cwd=ROOT, env={**clean, "PATH": str(tmp_path), **env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_without_chromium_the_browser_test_is_skipped_visibly(tmp_path: Path, ci: str) -> None:
    result = pytest_without_chromium(tmp_path, CI=ci)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "SKIPPED" in result.stdout
    assert " passed" not in result.stdout, "every browser test was skipped"
    assert REASON in result.stdout, "the reason is in the summary"


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_missing_chromium_fails(tmp_path: Path, ci: str) -> None:
    result = pytest_without_chromium(tmp_path, CI=ci)
    assert result.returncode == 1, result.stdout[-2000:]
    assert REASON in result.stdout
