"""The Bolt app: listeners registered, errors logged once, nothing else."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import BotDeps
from bot.listeners import approvals, commands, home, messages

log = logging.getLogger(__name__)


def build_app(deps: BotDeps, client: AsyncWebClient) -> AsyncApp:
    """An `AsyncApp` with every listener of opsbot."""
    app = AsyncApp(
        client=client,
        signing_secret=deps.settings.slack_signing_secret or "unused-in-socket-mode",
        request_verification_enabled=bool(deps.settings.slack_signing_secret),
    )
    for module in (messages, approvals, commands, home):
        module.register(app, deps)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed on %s: %s", body.get("type"), error, exc_info=error)

    return app
