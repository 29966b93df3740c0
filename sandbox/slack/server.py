"""The sandbox Slack server: Web API, Socket Mode, response URLs, and a person's actions."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.slack import payloads
from sandbox.slack.delivery import Delivery, HttpDelivery, SocketModeHub
from sandbox.slack.model import Message, Workspace, default_workspace
from sandbox.slack.ratelimit import RateLimiter
from sandbox.slack.webapi import ApiError, StreamLimits, WebApi

TRIGGER_TTL_S = 3.0


@dataclass
class SandboxConfig:
    """How the sandbox behaves: delivery mode, limits and timings (Slack's by default)."""

    deliver: str = "socket"  # or the app's request URL for signed HTTP delivery
    rate_limits: bool = True
    rate_window_s: float = 60.0
    stream_idle_s: float = 60.0
    stream_max_s: float = 300.0
    ack_timeout_s: float = 3.0
    http_retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    streaming_methods: bool = True  # False: chat.*Stream answer unknown_method, as on old plans
    banner: str = ""  # shown atop the page, e.g. which model answers
    scenarios: list[dict[str, str]] = field(default_factory=list)  # the page's incident picker
    app_runs_url: str = ""  # the app's run data (opsbot's /runs), for the page's run panel
    credentials: dict[str, str] = field(default_factory=dict)
    """The app's credentials, chosen by whoever starts the workspace (bot_token, app_token,
    signing_secret); unset ones are random, so no other process can guess them."""


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update(await request.post())
    return args


def _token(request: web.Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = args.pop("token", None)
    return str(token) if token else None


@dataclass
class Outage:
    """Slack failing a method for a while: the next `times` matching calls get `error`."""

    method: str
    error: str = "internal_error"
    times: int = 1
    when: Callable[[dict[str, Any]], bool] | None = None  # which calls (by their arguments)
    status: int = 200  # Slack answers most failures with 200 and ok=false; fatal_error is 500
    retry_after: int = 1  # the Retry-After header (seconds) of a 429

    def takes(self, method: str, args: dict[str, Any]) -> bool:
        """Whether this call fails (and counts it)."""
        if self.times <= 0 or method != self.method or (self.when and not self.when(args)):
            return False
        self.times -= 1
        return True


@dataclass
class SlackSandbox:
    """One local workspace and the app installed in it."""

    config: SandboxConfig = field(default_factory=SandboxConfig)
    workspace: Workspace = field(default_factory=default_workspace)
    base_url: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, float] = field(default_factory=dict)
    outages: list[Outage] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("bot_token", "app_token", "signing_secret"):
            if value := self.config.credentials.get(name):
                setattr(self.workspace, name, value)
        self.limiter = RateLimiter(enabled=self.config.rate_limits,
                                   window_s=self.config.rate_window_s)  # fmt: skip
        self.api = WebApi(
            self.workspace,
            StreamLimits(idle_s=self.config.stream_idle_s, max_s=self.config.stream_max_s),
            on_message=self._on_message,
            triggers=self.triggers,
            trigger_ttl_s=TRIGGER_TTL_S,
        )
        self.delivery: Delivery
        if self.config.deliver == "socket":
            self.delivery = SocketModeHub(self._command_response,
                                          ack_timeout_s=self.config.ack_timeout_s)  # fmt: skip
        else:
            self.delivery = HttpDelivery(
                self.config.deliver, self.workspace.signing_secret, self._command_response,
                timeout_s=self.config.ack_timeout_s, retry_delays=self.config.http_retry_delays,
            )  # fmt: skip
        self.changed = asyncio.Condition()

    # -- the Web API ---------------------------------------------------------------------
    async def handle_api(self, request: web.Request) -> web.Response:
        """`/api/<method>`: auth, rate limits, the method, the call log."""
        method = request.match_info["method"]
        started = time.monotonic()
        args = await _arguments(request)
        token = _token(request, args)
        status, body, headers = await self._call(method, token, args)
        elapsed_ms = round((time.monotonic() - started) * 1000, 2)
        self.calls.append({"method": method, "args": args, "ok": body.get("ok"),
                           "error": body.get("error"), "status": status, "at": time.time(),
                           "duration_ms": elapsed_ms})  # fmt: skip
        await self.notify()
        return web.json_response(body, status=status, headers=headers)

    async def _call(
        self, method: str, token: str | None, args: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        headers = {"x-oauth-scopes": self.workspace.scopes}
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, headers
        if token not in (self.workspace.bot_token, self.workspace.app_token):
            return 200, {"ok": False, "error": "invalid_auth"}, headers
        if method == "apps.connections.open":
            if token != self.workspace.app_token:
                return 200, {"ok": False, "error": "not_allowed_token_type"}, headers
            return 200, {"ok": True, "url": self._socket_url()}, headers
        handler = self.api.methods().get(method)
        if method.endswith("Stream") and not self.config.streaming_methods:
            handler = None
        if handler is None:
            return 404, {"ok": False, "error": "unknown_method"}, headers
        if token != self.workspace.bot_token:
            return 200, {"ok": False, "error": "not_allowed_token_type"}, headers
        if outage := next((o for o in self.outages if o.takes(method, args)), None):
            if outage.status == 429:
                headers = {**headers, "Retry-After": str(outage.retry_after)}
            return outage.status, {"ok": False, "error": outage.error}, headers
        channel = args.get("channel") if method == "chat.postMessage" else None
        retry_after = self.limiter.check(method, str(channel) if channel else None)
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {
                **headers, "Retry-After": str(int(retry_after))}  # fmt: skip
        try:
            result = await handler(args)
        except ApiError as error:
            return 200, {"ok": False, "error": error.code, **error.extra}, headers
        return 200, {"ok": True, **result}, headers

    def _socket_url(self) -> str:
        assert isinstance(self.delivery, SocketModeHub)
        host = self.base_url.replace("http://", "ws://", 1)
        return f"{host}/socket/{self.delivery.new_ticket()}"

    async def _on_message(self, message: Message) -> None:
        for event in payloads.message_events(self.workspace, message):
            self.delivery.event(payloads.event_callback(self.workspace, event))

    # -- response_url ----------------------------------------------------------------------
    def _response_url(self, context: dict[str, Any]) -> str:
        key = secrets.token_urlsafe(12)
        self.responses[key] = {**context, "created": time.time(), "uses": 0}
        return f"{self.base_url}/_sandbox/response/{key}"

    def _trigger(self) -> str:
        trigger = payloads.new_trigger_id()
        self.triggers[trigger] = time.monotonic()
        return trigger

    async def handle_response_url(self, request: web.Request) -> web.Response:
        """What an app POSTs to a `response_url` (up to 5 times, within 30 minutes)."""
        context = self.responses.get(request.match_info["key"])
        if context is None or context["uses"] >= 5 or time.time() - context["created"] > 1800:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        context["uses"] += 1
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        await self._command_response(context, body)
        return web.json_response({"ok": True})

    async def _command_response(self, context: dict[str, Any], body: dict[str, Any]) -> None:
        channel = str(context.get("channel_id") or context.get("channel") or "")
        user = str(context.get("user_id") or context.get("user") or "")
        message_ts = context.get("message_ts")
        args = {"channel": channel, "text": body.get("text", ""), "blocks": body.get("blocks")}
        try:
            if body.get("delete_original") and message_ts:
                await self.api.chat_delete({"channel": channel, "ts": message_ts})
            elif body.get("replace_original") and message_ts:
                await self.api.chat_update({**args, "ts": message_ts})
            elif body.get("response_type") == "in_channel":
                await self.api.chat_post_message({**args, "thread_ts": body.get("thread_ts")})
            else:
                await self.api.chat_post_ephemeral({**args, "user": user})
        except ApiError as error:
            self.calls.append({"method": "response_url", "ok": False, "error": error.code,
                               "at": time.time()})  # fmt: skip
        await self.notify()

    async def notify(self) -> None:
        """Wake whoever waits in `wait_until`: something a person sees may have changed."""
        async with self.changed:
            self.changed.notify_all()

    # -- a person's actions --------------------------------------------------------------
    async def post_as(
        self, user: str, channel: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """Post as a person: the app gets `message` (and `app_mention`) events."""
        found = self.api.channel({"channel": channel})
        if user not in self.workspace.users:
            raise ApiError("user_not_found")
        if thread_ts and thread_ts not in found.messages:
            raise ApiError("thread_not_found")
        message = Message(ts=self.workspace.new_ts(), channel=found.id, user=user, text=text,
                          thread_ts=thread_ts)  # fmt: skip
        await self.api._post(found, message)
        await self.notify()
        return message

    async def click(
        self, user: str, channel: str, ts: str, action_id: str, value: str | None = None
    ) -> str:
        """Click a button on a message: the app gets `block_actions`; returns the trigger id.

        A `feedback_buttons` element has two buttons: `value` picks the one clicked."""
        found = self.api.channel({"channel": channel})
        message = self.api.message(found, ts)
        person = self.workspace.users.get(user)
        if person is None:
            raise ApiError("user_not_found")
        for block in message.blocks or []:
            for element in block.get("elements") or [block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    if element.get("type") == "feedback_buttons":
                        element = payloads.feedback_choice(element, value)
                    trigger = self._trigger()
                    url = self._response_url({"channel_id": found.id, "user_id": user,
                                              "message_ts": message.ts})  # fmt: skip
                    block_id = block.get("block_id", "")
                    payload = payloads.block_actions(
                        self.workspace, person, message, element, block_id, url, trigger
                    )
                    self.delivery.interactive(payload)
                    return trigger
        raise ApiError("action_not_found")

    async def command(self, user: str, channel: str, command: str, text: str = "") -> str:
        """Run a slash command as a person; returns the trigger id."""
        found = self.api.channel({"channel": channel})
        person = self.workspace.users.get(user)
        if person is None:
            raise ApiError("user_not_found")
        trigger = self._trigger()
        url = self._response_url({"channel_id": found.id, "user_id": user})
        fields = payloads.slash_command(self.workspace, person, found.id, command, text, url,
                                        trigger)  # fmt: skip
        self.delivery.command(fields)
        return trigger

    async def submit_view(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> None:
        """Submit an open modal: the app gets `view_submission` with the input values."""
        person = self.workspace.users.get(user)
        opened = next((v["view"] for v in self.workspace.views if v["view"]["id"] == view_id), None)
        if person is None or opened is None:
            raise ApiError("not_found")
        self.delivery.interactive(payloads.view_submission(self.workspace, person, opened, values))

    async def open_home(self, user: str) -> None:
        """Open the app's Home tab: the app gets `app_home_opened`."""
        if user not in self.workspace.users:
            raise ApiError("user_not_found")
        event = {"type": "app_home_opened", "user": user, "channel": "D0" + user[2:], "tab": "home",
                 "event_ts": self.workspace.new_ts()}  # fmt: skip
        self.delivery.event(payloads.event_callback(self.workspace, event))

    def rendered_thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The thread as a person sees it: author, final text, blocks, shared files, whether
        still streaming."""
        return [
            {"ts": m.ts, "user": m.user, "text": m.visible_text(),
             "blocks": m.all_blocks() or m.blocks,
             "streaming": m.streaming, "edited": m.edited, "reactions": dict(m.reactions),
             "files": list(m.files or [])}
            for m in self.workspace.thread(self.api.channel({"channel": channel}).id, thread_ts)
        ]  # fmt: skip

    def ephemeral_for(self, user: str) -> list[dict[str, Any]]:
        """Ephemeral messages one user saw, oldest first."""
        return [vars(e) for e in self.workspace.ephemeral if e.user == user]

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Wait until `condition()` holds after some API call or response."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(condition), timeout_s)


SANDBOX: web.AppKey[SlackSandbox] = web.AppKey("sandbox", SlackSandbox)
