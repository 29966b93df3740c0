"""What `opsbot serve` checks before it starts: settings, token shapes, and Slack's answers.

Token prefixes are Slack's (https://api.slack.com/concepts/token-types): bot tokens start
`xoxb-`, app-level tokens `xapp-`. A signing secret is 32 hexadecimal characters (the app's
*Basic Information → App Credentials*; https://api.slack.com/authentication/verifying-requests-from-slack).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlparse

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from agents.model_provider import provider_problems
from agents.specs import AGENT_NAMES
from agents.tool_setup import load_mcp_servers
from core.errors import ConfigError, StartupError
from core.settings import Settings

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SIGNING_SECRET = re.compile(r"[0-9a-fA-F]{32}")
UNREACHABLE = (OSError, TimeoutError, aiohttp.ClientError)


@dataclass
class Identity:
    """Who the bot is, from `auth.test`."""

    team: str
    team_name: str
    bot_user: str
    bot_id: str
    bot_name: str
    domain: str | None


def _token_problem(value: str, prefix: str, kind: str) -> str | None:
    if value != value.strip() or value[:1] in "\"'":
        return "has spaces or quotes around it"
    if not value.startswith(prefix):
        return f"must be {kind} ({prefix}...), got one starting {value[:5]!r}"
    return None


def config_problems(settings: Settings) -> list[tuple[str, str]]:
    """Every `(variable, problem)` that stops `serve` from working; empty when none."""
    problems: list[tuple[str, str]] = []
    bot, app, secret = (
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
    )
    if not bot:
        problems.append(("SLACK_BOT_TOKEN", "is required (the Bot User OAuth Token, xoxb-...)"))
    elif why := _token_problem(bot, "xoxb-", "a bot token"):
        problems.append(("SLACK_BOT_TOKEN", why))
    if app:
        if why := _token_problem(app, "xapp-", "an app-level token"):
            problems.append(("SLACK_APP_TOKEN", why))
    elif not secret:
        problems.append(("SLACK_SIGNING_SECRET", "is required in HTTP mode (no SLACK_APP_TOKEN)"))
    elif not SIGNING_SECRET.fullmatch(secret):
        problems.append(("SLACK_SIGNING_SECRET", "must be 32 hexadecimal characters (the app's "
                         "Signing Secret, not a token or the verification token)"))  # fmt: skip
    if settings.model_provider == "anthropic" and not settings.anthropic_api_key:
        problems.append(("ANTHROPIC_API_KEY", "is required: the agents need a model"))
    problems.extend(provider_problems(settings))
    if settings.runs_api and settings.health_port is None:
        problems.append(("OPSBOT_RUNS_API", "needs OPSBOT_HEALTH_PORT (it serves /runs there)"))
    if settings.runs_api and not app and settings.health_port == settings.http_port:
        problems.append(("OPSBOT_RUNS_API", "needs OPSBOT_HEALTH_PORT other than OPSBOT_HTTP_PORT "
                         "(/runs listens on 127.0.0.1 only)"))  # fmt: skip
    if settings.alertmanager_token is not None and not settings.alertmanager_token.strip():
        problems.append(("OPSBOT_ALERTMANAGER_TOKEN", "is empty (unset it to turn alerts off)"))
    if settings.alertmanager_token and not settings.alert_channel:
        problems.append(("OPSBOT_ALERT_CHANNEL", "is required with OPSBOT_ALERTMANAGER_TOKEN "
                         "(the channel id where alert threads open, e.g. C0123ABCD)"))  # fmt: skip
    try:  # the file is read again at launch; a bad one is found before anything starts
        load_mcp_servers(settings, AGENT_NAMES)
    except ConfigError as error:
        problems.extend(error.problems)
    return problems


def check_config(settings: Settings) -> None:
    """Raise one `ConfigError` naming every problem `config_problems` finds."""
    if problems := config_problems(settings):
        raise ConfigError.of_all(problems)


def unreachable(url: str, error: BaseException) -> StartupError:
    """The one line for a Slack API that does not answer; names the variable only if set."""
    why = str(error) or type(error).__name__
    where = "" if url == DEFAULT_SLACK_API_URL else " (OPSBOT_SLACK_API_URL)"
    return StartupError(f"the Slack API at {url}{where} cannot be reached: {why}")


def _refusal(error: SlackApiError) -> str:
    code = error.response.get("error") if isinstance(error.response.data, dict) else None
    return str(code) if code else f"HTTP {error.response.status_code}, not a Slack API answer"


async def who_am_i(client: AsyncWebClient) -> Identity:
    """`auth.test` with the bot token; a refusal or an unreachable API is one clear error."""
    try:
        auth = await client.auth_test()
    except SlackApiError as error:
        raise ConfigError("SLACK_BOT_TOKEN", f"Slack refused it ({_refusal(error)})") from None
    except UNREACHABLE as error:
        raise unreachable(client.base_url, error) from None
    host = urlparse(str(auth.get("url") or "")).hostname or ""
    domain = host.split(".")[0] if host.endswith("slack.com") else None
    return Identity(team=str(auth["team_id"]), team_name=str(auth.get("team") or ""),
                    bot_user=str(auth["user_id"]), bot_id=str(auth.get("bot_id") or ""),
                    bot_name=str(auth.get("user") or ""), domain=domain)  # fmt: skip


async def open_socket_url(client: SocketModeClient) -> None:
    """`apps.connections.open` with the app token, before the client connects.

    The SDK's `connect()` retries a refused token every few seconds forever, with a traceback
    each time; asking first turns a refusal into one `ConfigError`. A 429 waits `Retry-After`
    (the method is Tier 1: https://api.slack.com/methods/apps.connections.open).
    """
    while True:
        try:
            answer = await client.web_client.apps_connections_open(app_token=client.app_token)
        except SlackApiError as error:
            if error.response.status_code == 429:
                await asyncio.sleep(float(error.response.headers.get("Retry-After", "30")))
                continue
            raise ConfigError("SLACK_APP_TOKEN", f"Slack refused it ({_refusal(error)})") from None
        except UNREACHABLE as error:
            raise unreachable(client.web_client.base_url, error) from None
        client.wss_uri = str(answer["url"])
        return
