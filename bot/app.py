"""The Bolt app: listeners registered, errors logged once, nothing else."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import BotDeps
from bot.listeners import approvals, commands, feedback, home, messages, sessions

log = logging.getLogger(__name__)

Authorize = Callable[..., Awaitable[AuthorizeResult | None]]


class _NoTokenUnusedNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns at every start
    that the client given wins over it; opsbot gives its client on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


BOLT_LOG = logging.getLogger("slack_bolt.AsyncApp")
"""Bolt's app logger, given to Bolt so its level follows `slack_bolt`'s (Bolt would otherwise
copy the root logger's level, and log every Socket Mode session change at INFO)."""
BOLT_LOG.addFilter(_NoTokenUnusedNotice())


def startup_authorization(deps: BotDeps, token: str, bot_id: str) -> Authorize:
    """Bolt's `authorize`, answered from the `auth.test` made once at startup.

    Bolt's single-team default calls `auth.test` until its first answer is cached, so a burst
    of events at start costs one call each (Tier 4: 100 a minute) and a 429 there drops the
    event. Events from any other workspace are refused.
    """
    result = AuthorizeResult(
        enterprise_id=None, team_id=deps.team, bot_user_id=deps.bot_user, bot_id=bot_id,
        bot_token=token,
    )  # fmt: skip

    async def authorize(team_id: str | None) -> AuthorizeResult | None:
        if team_id is not None and team_id != deps.team:
            log.warning("ignored a request of workspace %s (the bot is in %s)", team_id, deps.team)
            return None
        return result

    return authorize


def _as_bolt_authorize(authorize: Authorize) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's annotation omits None, which it handles as "not installed in that workspace"."""
    return cast(Callable[..., Awaitable[AuthorizeResult]], authorize)


def build_app(deps: BotDeps, client: AsyncWebClient, bot_id: str) -> AsyncApp:
    """An `AsyncApp` with every listener of opsbot, authorized as the startup identity."""
    token = client.token or ""
    app = AsyncApp(
        # Token-less: with `authorize` set, Bolt takes each request's token from its result.
        client=AsyncWebClient(base_url=client.base_url, timeout=client.timeout),
        authorize=_as_bolt_authorize(startup_authorization(deps, token, bot_id)),
        signing_secret=deps.settings.slack_signing_secret or "unused-in-socket-mode",
        request_verification_enabled=bool(deps.settings.slack_signing_secret),
        logger=BOLT_LOG,
    )
    for module in (messages, approvals, commands, home, sessions, feedback):
        module.register(app, deps)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed on %s: %s", body.get("type"), error, exc_info=error)

    return app
