"""`opsbot serve`: settings, engine, Bolt app, then Socket Mode or HTTP until stopped.

Exit codes: 0 stopped by a signal; 2 could not start (one line on stderr: a setting missing,
malformed or refused by Slack, or the Slack API unreachable); 1 stopping took longer than
`SHUTDOWN_DEADLINE_S` (runs resume at the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from agents import service, tool_setup
from agents.approval_rules import ApprovalRules
from agents.changes import start_line
from agents.publisher import FanoutPublisher
from bot.alerts.desk import AlertDesk
from bot.alerts.webhook import PATH as ALERTS_PATH
from bot.alerts.webhook import add_alert_route
from bot.app import build_app
from bot.approvers import Approvers
from bot.deps import BotDeps
from bot.http_events import events_app
from bot.leftovers import finish_leftovers
from bot.renderer import SlackPublisher
from bot.session_expiry import sweep_forever
from bot.session_status import SessionStatus
from bot.startup_checks import check_config, open_socket_url, who_am_i
from bot.status_http import add_status_routes
from bot.writer import SlackWriter
from core.errors import ConfigError, StartupError
from core.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_DEADLINE_S = 8.0
"""From the first SIGTERM/SIGINT/SIGHUP to exit at the latest: `docker stop` waits 10 s."""
SOCKET_CONNECT_TIMEOUT_S = 30.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def run_until_stopped(
    settings: Settings, stop: asyncio.Event, ready: asyncio.Event | None = None
) -> None:
    """Start everything, set `ready`, wait for `stop`, shut down in order.

    Raises `ConfigError` or `StartupError` (one line each) when the start cannot work; what
    was started by then is stopped again.
    """
    check_config(settings)
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(_close_session, client)
        identity = await who_am_i(client)
        writer = SlackWriter(client, rate_scale=settings.slack_rate_scale)
        redactor = tool_setup.load_redactor(settings)
        publisher = SlackPublisher(writer, redactor=redactor)
        sessions = SessionStatus(writer)
        cleanup.push_async_callback(service.stop)  # after the publisher's close (LIFO)
        cleanup.push_async_callback(publisher.close)
        cleanup.push_async_callback(sessions.close)
        engine = await service.launch(settings, FanoutPublisher([publisher, sessions]))
        if settings.session_close_after_s > 0:
            sweeper = asyncio.create_task(sweep_forever(sessions, settings.session_close_after_s))
            cleanup.callback(sweeper.cancel)
        writer.on_rate_limited = lambda method: engine.telemetry.metrics.slack_rate_limited.add(
            1, {"method": method}
        )
        if finished := await finish_leftovers(writer):
            log.info("finished %d message(s) a previous process left streaming", finished)
        approvers = Approvers(writer, ApprovalRules.from_settings(settings))
        deps = BotDeps(settings=settings, writer=writer, approvers=approvers,
                       bot_user=identity.bot_user, team=identity.team, domain=identity.domain,
                       redactor=redactor, sessions=sessions)  # fmt: skip
        app = build_app(deps, client, identity.bot_id)
        desk = AlertDesk(deps, owner=settings.executor_id)
        if settings.alertmanager_token:
            desk.start()
            cleanup.push_async_callback(desk.close)
        alerts_on = settings.http_port
        if settings.slack_app_token:
            handler = AsyncSocketModeHandler(app, settings.slack_app_token, web_client=client)
            cleanup.push_async_callback(handler.close_async)
            await open_socket_url(handler.client)
            await _connect(handler, settings.slack_api_url)
            mode = "Socket Mode"
            if settings.alertmanager_token and settings.health_port != settings.http_port:
                alerts_app = web.Application()
                add_alert_route(alerts_app, settings, desk.wake)
                cleanup.push_async_callback((await _serve_http(alerts_app, alerts_on)).cleanup)
        else:
            web_app = events_app(app, settings.slack_signing_secret or "")
            add_status_routes(web_app, engine.sandbox, with_runs=False)
            add_alert_route(web_app, settings, desk.wake)
            cleanup.push_async_callback((await _serve_http(web_app, settings.http_port)).cleanup)
            mode = f"HTTP on port {settings.http_port}"
        if settings.health_port is not None and (
            settings.slack_app_token or settings.health_port != settings.http_port
        ):
            status_app = web.Application()
            add_status_routes(status_app, engine.sandbox, with_runs=settings.runs_api)
            if settings.slack_app_token and settings.health_port == settings.http_port:
                add_alert_route(status_app, settings, desk.wake)
            host = "127.0.0.1" if settings.runs_api else "0.0.0.0"  # /runs has no auth
            runner = await _serve_http(status_app, settings.health_port, host)
            cleanup.push_async_callback(runner.cleanup)
        print(f"opsbot is @{identity.bot_name} ({identity.bot_user}) in {identity.team_name} "
              f"({identity.team}), {mode}", flush=True)  # fmt: skip
        print(f"commands: {engine.sandbox}", flush=True)
        print(_alerts_line(settings, alerts_on), flush=True)
        print(start_line(engine.changes), flush=True)
        for line in engine.mcp.start_lines() if engine.mcp is not None else ():
            print(line, flush=True)
        if ready is not None:
            ready.set()
        await stop.wait()


def _alerts_line(settings: Settings, port: int) -> str:
    if not settings.alertmanager_token:
        return "alerts: off (OPSBOT_ALERTMANAGER_TOKEN and OPSBOT_ALERT_CHANNEL turn them on)"
    routes = f", {len(settings.alert_routes)} route(s)" if settings.alert_routes else ""
    return (f"alerts: POST {ALERTS_PATH} on port {port} (bearer token) opens threads in "
            f"{settings.alert_channel}{routes}")  # fmt: skip


async def _connect(handler: AsyncSocketModeHandler, api_url: str) -> None:
    try:
        await asyncio.wait_for(handler.client.connect(), SOCKET_CONNECT_TIMEOUT_S)  # type: ignore[no-untyped-call]
    except TimeoutError:
        raise StartupError(
            f"the Socket Mode connection that {api_url}apps.connections.open gave did not "
            f"open within {SOCKET_CONNECT_TIMEOUT_S:.0f} s"
        ) from None


async def _close_session(client: AsyncWebClient) -> None:
    if client.session is not None:
        await client.session.close()


async def _serve_http(app: web.Application, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return runner


def _exit_after(seconds: float) -> None:
    """A last resort: end the process `seconds` from now even if something still waits."""

    def overdue() -> None:
        print(f"opsbot serve: stopping took over {seconds:.0f} s; exiting now (runs resume at "
              "the next start)", file=sys.stderr, flush=True)  # fmt: skip
        os._exit(1)

    timer = threading.Timer(seconds, overdue)
    timer.daemon = True
    timer.start()


async def serve(settings: Settings) -> int:
    """Run until SIGINT, SIGTERM or SIGHUP; returns the exit code (see the module docstring).

    A signal during start cancels the start; a second signal exits at once.
    """
    stop, ready = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    work = asyncio.create_task(run_until_stopped(settings, stop, ready))

    def stop_work() -> None:
        stop.set()
        if not ready.is_set():
            work.cancel()

    def on_signal(number: int, _frame: object) -> None:
        if stopping.is_set():
            os._exit(128 + number)
        stopping.set()
        _exit_after(SHUTDOWN_DEADLINE_S)

    stopping = threading.Event()
    for sig in STOP_SIGNALS:
        # The loop's handler wakes the loop (signal.set_wakeup_fd) and stops the work there;
        # the Python-level handler put over it runs in the main thread between bytecodes even
        # while synchronous work (the migration, DBOS.launch) blocks the loop, so the deadline
        # starts at the signal, not when the loop is next free.
        loop.add_signal_handler(sig, stop_work)
        signal.signal(sig, on_signal)
    try:
        await work
    except (ConfigError, StartupError) as error:
        print(error, file=sys.stderr)
        return 2
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
        print("opsbot serve: stopped before it was ready", file=sys.stderr)
    return 0


def configure_logging(level: Any = logging.INFO) -> None:
    """Plain log lines on stderr."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "httpx", "httpx2", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
