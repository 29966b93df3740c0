"""Without Debian's Prometheus a metrics test is skipped with the reason, except under CI,
where it fails (CI installs both binaries)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.metrics import servers


@pytest.mark.parametrize("binary", [servers.PROMETHEUS, servers.ALERTMANAGER])
def test_a_missing_binary_skips_visibly_outside_ci(
    binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(servers, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match=f"{binary} is not installed"):
        servers.require_binary(binary)


@pytest.mark.parametrize("binary", [servers.PROMETHEUS, servers.ALERTMANAGER])
def test_a_missing_binary_fails_under_ci(
    binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(servers, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match=f"CI=true but {binary} is not installed"):
        servers.require_binary(binary)
