"""The aiohttp application around a `SlackSandbox`, and how to start it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.slack.delivery import SocketModeHub
from sandbox.slack.file_routes import add_file_routes
from sandbox.slack.page import add_page_routes
from sandbox.slack.server import SANDBOX, SandboxConfig, SlackSandbox
from sandbox.slack.sessions import deliver_stop
from sandbox.slack.webapi import ApiError

Handler = Callable[[SlackSandbox, dict[str, Any]], Awaitable[dict[str, Any]]]


def _person_action(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def endpoint(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            return web.json_response({"ok": True, **await handler(request.app[SANDBOX], body)})
        except ApiError as error:
            return web.json_response({"ok": False, "error": error.code}, status=400)
        except (KeyError, TypeError, ValueError) as error:
            return web.json_response({"ok": False, "error": f"bad_request: {error}"}, status=400)

    return endpoint


async def _post(sandbox: SlackSandbox, body: dict[str, Any]) -> dict[str, Any]:
    message = await sandbox.post_as(body["user"], body["channel"], body["text"],
                                    body.get("thread_ts"))  # fmt: skip
    return {"ts": message.ts, "channel": message.channel}


async def _click(sandbox: SlackSandbox, body: dict[str, Any]) -> dict[str, Any]:
    trigger = await sandbox.click(body["user"], body["channel"], body["ts"], body["action_id"],
                                  body.get("value"))  # fmt: skip
    return {"trigger_id": trigger}


async def _command(sandbox: SlackSandbox, body: dict[str, Any]) -> dict[str, Any]:
    trigger = await sandbox.command(body["user"], body["channel"], body["command"],
                                    body.get("text", ""))  # fmt: skip
    return {"trigger_id": trigger}


async def _submit_view(sandbox: SlackSandbox, body: dict[str, Any]) -> dict[str, Any]:
    await sandbox.submit_view(body["user"], body["view_id"], body.get("values") or {})
    return {}


async def _open_home(sandbox: SlackSandbox, body: dict[str, Any]) -> dict[str, Any]:
    await sandbox.open_home(body["user"])
    return {}


async def _stop(sandbox: SlackSandbox, body: dict[str, Any]) -> dict[str, Any]:
    deliver_stop(sandbox.api, sandbox.delivery, body["user"], body["channel"], body["thread_ts"])
    return {}


async def _disconnect(sandbox: SlackSandbox, body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(sandbox.delivery, SocketModeHub):
        await sandbox.delivery.disconnect(body.get("reason", "refresh_requested"))
    return {}


async def _inspect(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    what = request.match_info["what"]
    query = request.query
    try:
        if what == "calls":
            data: Any = sandbox.calls
        elif what == "thread":
            data = sandbox.rendered_thread(query["channel"], query["ts"])
        elif what == "ephemeral":
            data = sandbox.ephemeral_for(query["user"])
        elif what == "ratelimited":
            data = sandbox.limiter.limited
        elif what == "deliveries":
            data = sandbox.delivery.log
        elif what == "credentials":
            data = credentials(sandbox)
        else:
            raise web.HTTPNotFound()
    except KeyError as missing:
        return web.json_response({"ok": False, "error": f"missing {missing}"}, status=400)
    except ApiError as error:
        return web.json_response({"ok": False, "error": error.code}, status=400)
    return web.json_response({"ok": True, what: data})


def credentials(sandbox: SlackSandbox) -> dict[str, str]:
    """What the app needs to connect: tokens, signing secret, API URL."""
    space = sandbox.workspace
    return {
        "SLACK_BOT_TOKEN": space.bot_token,
        "SLACK_APP_TOKEN": space.app_token,
        "SLACK_SIGNING_SECRET": space.signing_secret,
        "OPSBOT_SLACK_API_URL": f"{sandbox.base_url}/api/",
    }


def make_app(sandbox: SlackSandbox) -> web.Application:
    """Routes: the Web API, Socket Mode, response URLs, person actions and inspection."""
    app = web.Application()
    app[SANDBOX] = sandbox
    app.router.add_route("*", "/api/{method}", sandbox.handle_api)
    if isinstance(sandbox.delivery, SocketModeHub):
        app.router.add_get("/socket/{ticket}", sandbox.delivery.handle)
    app.router.add_post("/_sandbox/response/{key}", sandbox.handle_response_url)
    app.router.add_post("/_sandbox/post", _person_action(_post))
    app.router.add_post("/_sandbox/click", _person_action(_click))
    app.router.add_post("/_sandbox/command", _person_action(_command))
    app.router.add_post("/_sandbox/submit_view", _person_action(_submit_view))
    app.router.add_post("/_sandbox/open_home", _person_action(_open_home))
    app.router.add_post("/_sandbox/disconnect", _person_action(_disconnect))
    app.router.add_post("/_sandbox/stop", _person_action(_stop))
    add_page_routes(app)
    add_file_routes(app)
    app.router.add_get("/_sandbox/{what}", _inspect)

    async def close_delivery(_: web.Application) -> None:
        await sandbox.delivery.close()

    app.on_cleanup.append(close_delivery)
    return app


@dataclass
class RunningSlack:
    """A started sandbox: its URL, the sandbox object, and how to stop it."""

    url: str
    sandbox: SlackSandbox
    runner: web.AppRunner

    @property
    def api_url(self) -> str:
        """The Web API base URL (ends with '/', as `WebClient(base_url=...)` needs)."""
        return f"{self.url}/api/"

    async def stop(self) -> None:
        """Stop serving and delivering."""
        await self.runner.cleanup()


async def start_slack(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSlack:
    """Start the sandbox on the running loop (port 0 picks a free one)."""
    sandbox = SlackSandbox(config or SandboxConfig())
    runner = web.AppRunner(make_app(sandbox), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    url = f"http://{host}:{runner.addresses[0][1]}"
    sandbox.base_url = sandbox.api.base_url = url
    return RunningSlack(url=url, sandbox=sandbox, runner=runner)
