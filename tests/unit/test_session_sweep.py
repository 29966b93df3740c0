"""The idle-session sweep never stops the bot: a failed sweep is logged and tried again; a
workspace without agent sessions ends it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot import session_expiry
from bot.session_expiry import sweep_forever
from bot.session_status import SessionStatus
from bot.writer import SlackWriter


def status() -> SessionStatus:
    return SessionStatus(
        SlackWriter(AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/"))
    )


async def test_a_failed_sweep_is_logged_and_the_next_one_still_runs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_expiry, "sweep_interval", lambda _: 0.05)
    sweeping = asyncio.ensure_future(sweep_forever(status(), 1.0))  # no engine: each sweep fails
    with caplog.at_level(logging.WARNING, logger="bot.session_expiry"):
        await asyncio.sleep(0.5)
        assert not sweeping.done()
        sweeping.cancel()
    failures = [r for r in caplog.records if "closing idle agent sessions failed" in r.message]
    assert len(failures) >= 3
    assert "engine is not launched" in failures[0].message


async def test_a_workspace_without_sessions_ends_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_expiry, "sweep_interval", lambda _: 0.01)
    off = status()
    off.available = False
    await asyncio.wait_for(sweep_forever(off, 1.0), 5)
