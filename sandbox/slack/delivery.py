"""Delivering events, clicks and slash commands to the app: Socket Mode or signed HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from sandbox.slack.signing import signed_headers

log = logging.getLogger(__name__)

Responder = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]


class Delivery(Protocol):
    """How the sandbox reaches the app."""

    log: list[dict[str, Any]]

    def event(self, payload: dict[str, Any]) -> asyncio.Task[None]:
        """Deliver an Events API envelope."""

    def interactive(self, payload: dict[str, Any]) -> asyncio.Task[None]:
        """Deliver an interactivity payload (block_actions, view_submission)."""

    def command(self, fields: dict[str, str]) -> asyncio.Task[None]:
        """Deliver a slash command."""

    async def close(self) -> None:
        """Stop delivering."""


@dataclass
class _Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    response: dict[str, Any] | None = None

    def frame(self, attempt: int, reason: str) -> str:
        return json.dumps({
            "envelope_id": self.envelope_id, "type": self.type, "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": attempt, "retry_reason": reason,
        })  # fmt: skip


@dataclass
class SocketModeHub:
    """Slack's Socket Mode: `hello`, envelopes, acks within `ack_timeout_s`, retries, disconnect."""

    on_command_response: Responder
    ack_timeout_s: float = 3.0
    max_retries: int = 3
    connect_wait_s: float = 10.0
    log: list[dict[str, Any]] = field(default_factory=list)
    connections: list[web.WebSocketResponse] = field(default_factory=list)
    tickets: set[str] = field(default_factory=set)
    pending: dict[str, _Envelope] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _turn: int = 0

    def new_ticket(self) -> str:
        """A one-time ticket for the WebSocket URL `apps.connections.open` hands out."""
        ticket = secrets.token_urlsafe(16)
        self.tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket endpoint an app connects to."""
        ticket = request.match_info["ticket"]
        if ticket not in self.tickets:
            return web.Response(status=401, text="invalid ticket")
        self.tickets.discard(ticket)
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_str(json.dumps({
            "type": "hello", "num_connections": len(self.connections) + 1,
            "debug_info": {"host": "sandbox", "build_number": 1,
                           "approximate_connection_time": 3600},
            "connection_info": {"app_id": "A0OPSBOT"},
        }))  # fmt: skip
        self.connections.append(socket)
        self._connected.set()
        try:
            async for frame in socket:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    self._ack(json.loads(frame.data))
        finally:
            self.connections.remove(socket)
            if not self.connections:
                self._connected.clear()
        return socket

    def _ack(self, message: dict[str, Any]) -> None:
        envelope = self.pending.get(str(message.get("envelope_id")))
        if envelope is None or envelope.acked.is_set():
            return
        envelope.response = message.get("payload")
        envelope.acked.set()
        self.log.append({"kind": "ack", "envelope_id": envelope.envelope_id, "at": time.time()})

    def _send(self, kind: str, payload: dict[str, Any]) -> asyncio.Task[None]:
        envelope = _Envelope(
            envelope_id=secrets.token_hex(8) + "-" + secrets.token_hex(4), type=kind,
            payload=payload, accepts_response_payload=kind != "events_api",
        )  # fmt: skip
        self.pending[envelope.envelope_id] = envelope
        task = asyncio.ensure_future(self._deliver(envelope))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _deliver(self, envelope: _Envelope) -> None:
        reason = ""
        for attempt in range(self.max_retries + 1):
            if not self.connections:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._connected.wait(), self.connect_wait_s)
            if not self.connections:
                reason = "no_connection"
                continue
            socket = self.connections[self._turn % len(self.connections)]
            self._turn += 1
            self.log.append({"kind": envelope.type, "envelope_id": envelope.envelope_id,
                             "attempt": attempt, "reason": reason, "at": time.time()})  # fmt: skip
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.send_str(envelope.frame(attempt, reason))
            try:
                await asyncio.wait_for(envelope.acked.wait(), self.ack_timeout_s)
            except TimeoutError:
                reason = "timeout"
                continue
            if envelope.type == "slash_commands" and envelope.response:
                await self.on_command_response(envelope.payload, envelope.response)
            return
        self.log.append({"kind": "gave_up", "envelope_id": envelope.envelope_id, "at": time.time()})

    def event(self, payload: dict[str, Any]) -> asyncio.Task[None]:
        """Deliver an Events API envelope."""
        return self._send("events_api", payload)

    def interactive(self, payload: dict[str, Any]) -> asyncio.Task[None]:
        """Deliver an interactivity payload."""
        return self._send("interactive", payload)

    def command(self, fields: dict[str, str]) -> asyncio.Task[None]:
        """Deliver a slash command."""
        return self._send("slash_commands", dict(fields))

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connected app to reconnect, as Slack does before it drops a socket."""
        frame = json.dumps({"type": "disconnect", "reason": reason,
                            "debug_info": {"host": "sandbox"}})  # fmt: skip
        for socket in list(self.connections):
            await socket.send_str(frame)

    async def close(self) -> None:
        """Cancel deliveries and close every socket."""
        for task in list(self._tasks):
            task.cancel()
        for socket in list(self.connections):
            await socket.close()


@dataclass
class HttpDelivery:
    """Signed HTTP requests to the app's request URL, retried the way Slack retries events."""

    url: str
    signing_secret: str
    on_command_response: Responder
    timeout_s: float = 3.0
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    log: list[dict[str, Any]] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _post(self, body: str, content_type: str, extra: dict[str, str]) -> tuple[int, str]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {
            "Content-Type": content_type,
            **signed_headers(self.signing_secret, str(int(time.time())), body),
            **extra,
        }
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with self._session.post(self.url, data=body.encode(), headers=headers,
                                      timeout=timeout) as response:  # fmt: skip
            return response.status, await response.text()

    async def _event(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload)
        extra: dict[str, str] = {}
        for attempt in range(len(self.retry_delays) + 1):
            reason = "ok"
            sent = time.monotonic()
            try:
                status, _ = await self._post(body, "application/json", extra)
                reason = "ok" if 200 <= status < 300 else "http_error"
            except TimeoutError:
                reason = "http_timeout"
            except aiohttp.ClientError:
                reason = "connection_failed"
            took_ms = round((time.monotonic() - sent) * 1000, 2)
            self.log.append({"kind": "event", "event_id": payload.get("event_id"),
                             "attempt": attempt, "outcome": reason, "at": time.time(),
                             "duration_ms": took_ms})  # fmt: skip
            if reason == "ok" or attempt == len(self.retry_delays):
                return
            await asyncio.sleep(self.retry_delays[attempt])
            extra = {"X-Slack-Retry-Num": str(attempt + 1), "X-Slack-Retry-Reason": reason}

    async def _form(self, kind: str, fields: dict[str, str]) -> str | None:
        body = urllib.parse.urlencode(fields)
        try:
            status, text = await self._post(body, "application/x-www-form-urlencoded", {})
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.log.append({"kind": kind, "outcome": type(exc).__name__, "at": time.time()})
            return None
        self.log.append({"kind": kind, "outcome": status, "at": time.time()})
        return text if 200 <= status < 300 else None

    def event(self, payload: dict[str, Any]) -> asyncio.Task[None]:
        """Deliver an Events API envelope (retried on errors and timeouts)."""
        return self._spawn(self._event(payload))

    def interactive(self, payload: dict[str, Any]) -> asyncio.Task[None]:
        """Deliver an interactivity payload as the `payload` form field."""

        async def send() -> None:
            await self._form("interactive", {"payload": json.dumps(payload)})

        return self._spawn(send())

    def command(self, fields: dict[str, str]) -> asyncio.Task[None]:
        """Deliver a slash command; a body in the ack is the command's response."""

        async def send() -> None:
            text = await self._form("slash_commands", fields)
            if text:
                try:
                    response = json.loads(text)
                except json.JSONDecodeError:
                    response = {"text": text}
                await self.on_command_response(fields, response)

        return self._spawn(send())

    async def close(self) -> None:
        """Cancel deliveries and close the client session."""
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
