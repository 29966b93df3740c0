"""`opsbot serve`: settings, engine, Bolt app, then Socket Mode or HTTP until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents import service, tool_setup
from agents.approval_rules import ApprovalRules
from bot.app import build_app
from bot.approvers import Approvers
from bot.deps import BotDeps
from bot.leftovers import finish_leftovers
from bot.renderer import SlackPublisher
from bot.status_http import add_status_routes
from bot.writer import SlackWriter
from core.errors import ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Identity:
    """Who the bot is, from `auth.test`."""

    team: str
    team_name: str
    bot_user: str
    bot_id: str
    bot_name: str
    domain: str | None


def check_config(settings: Settings) -> None:
    """Refuse a start that cannot work, naming the variable."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", "is required (xoxb-...)")
    if not settings.slack_app_token and not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET", "is required in HTTP mode (no SLACK_APP_TOKEN)")
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN", "must be an app-level token (xapp-...)")
    if not settings.anthropic_api_key:
        raise ConfigError("ANTHROPIC_API_KEY", "is required: the agents need a model")


async def who_am_i(client: AsyncWebClient) -> Identity:
    """`auth.test`, as one clear error when the token or URL is wrong."""
    try:
        auth = await client.auth_test()
    except SlackApiError as error:
        raise ConfigError(
            "SLACK_BOT_TOKEN", f"Slack refused it ({error.response['error']})"
        ) from None
    except OSError as error:
        raise ConfigError("OPSBOT_SLACK_API_URL", f"cannot reach Slack ({error})") from None
    host = urlparse(str(auth.get("url") or "")).hostname or ""
    domain = host.split(".")[0] if host.endswith("slack.com") else None
    return Identity(team=str(auth["team_id"]), team_name=str(auth.get("team") or ""),
                    bot_user=str(auth["user_id"]), bot_id=str(auth.get("bot_id") or ""),
                    bot_name=str(auth.get("user") or ""), domain=domain)  # fmt: skip


async def run_until_stopped(settings: Settings, stop: asyncio.Event) -> None:
    """Start everything, wait for `stop`, shut down in order."""
    check_config(settings)
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    identity = await who_am_i(client)
    writer = SlackWriter(client, rate_scale=settings.slack_rate_scale)
    redactor = tool_setup.load_redactor(settings)
    publisher = SlackPublisher(writer, redactor=redactor)
    engine = await service.launch(settings, publisher)
    writer.on_rate_limited = lambda method: engine.telemetry.metrics.slack_rate_limited.add(
        1, {"method": method}
    )
    if finished := await finish_leftovers(writer):
        log.info("finished %d message(s) a previous process left streaming", finished)
    approvers = Approvers(writer, ApprovalRules.from_settings(settings))
    deps = BotDeps(
        settings=settings,
        writer=writer,
        approvers=approvers,
        bot_user=identity.bot_user,
        team=identity.team,
        domain=identity.domain,
        redactor=redactor,
    )
    app = build_app(deps, client, identity.bot_id)
    mode = "Socket Mode" if settings.slack_app_token else f"HTTP on port {settings.http_port}"
    print(f"opsbot is @{identity.bot_name} ({identity.bot_user}) in {identity.team_name} "
          f"({identity.team}), {mode}", flush=True)  # fmt: skip
    print(f"commands: {engine.sandbox}", flush=True)
    handler: AsyncSocketModeHandler | None = None
    runners: list[web.AppRunner] = []
    try:
        if settings.slack_app_token:
            handler = AsyncSocketModeHandler(app, settings.slack_app_token, web_client=client)
            await handler.connect_async()  # type: ignore[no-untyped-call]
        else:
            web_app = app.web_app(path="/slack/events", port=settings.http_port)
            add_status_routes(web_app, settings, engine.sandbox)
            runners.append(await _serve_http(web_app, settings.http_port))
        if settings.health_port is not None and (
            settings.slack_app_token or settings.health_port != settings.http_port
        ):
            status_app = web.Application()
            add_status_routes(status_app, settings, engine.sandbox)
            runners.append(await _serve_http(status_app, settings.health_port))
        await stop.wait()
    finally:
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]
        for runner in runners:
            await runner.cleanup()
        await publisher.close()
        await service.stop()
        if client.session is not None:
            await client.session.close()


async def _serve_http(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    return runner


async def serve(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; returns the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_until_stopped(settings, stop)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


def configure_logging(level: Any = logging.INFO) -> None:
    """Plain log lines on stderr."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "httpx", "httpx2", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
