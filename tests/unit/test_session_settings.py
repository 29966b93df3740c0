"""OPSBOT_SESSION_CLOSE_AFTER_S: a bad value stops the start with one line naming it; 0 turns
closing idle sessions off; the default is a day."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import load_settings


@pytest.mark.parametrize(
    ("value", "says"),
    [("-1", "greater than or equal to 0"), ("1d", "valid number"), ("", "valid number"),
     ("nan", "greater than or equal to 0")],
)  # fmt: skip
def test_a_bad_close_after_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("OPSBOT_SESSION_CLOSE_AFTER_S", value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    line = str(raised.value)
    assert "OPSBOT_SESSION_CLOSE_AFTER_S" in line
    assert says in line
    assert "\n" not in line


@pytest.mark.parametrize(("value", "seconds"), [(None, 86_400.0), ("0", 0.0), ("90.5", 90.5)])
def test_close_after_is_read_in_seconds(
    monkeypatch: pytest.MonkeyPatch, value: str | None, seconds: float
) -> None:
    if value is not None:
        monkeypatch.setenv("OPSBOT_SESSION_CLOSE_AFTER_S", value)
    assert load_settings(_env_file=None).session_close_after_s == seconds
