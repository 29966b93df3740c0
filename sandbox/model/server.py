"""The scripted Messages API server (aiohttp): SSE streaming, plain JSON, errors on demand."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.model.scenario import Reply, Scenario, locate, reply_for, unscripted_reply

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Fault:
    """A failure to inject into the next requests: an HTTP error or a stream cut mid-way."""

    kind: str  # "status" or "break"
    count: int = 1
    status: int = 529
    retry_after: float | None = None
    after_events: int = 4


@dataclass
class ModelServerState:
    """The script, pending faults, and every request received (for tests to inspect)."""

    scenario: Scenario
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    served: int = 0
    emitted: list[tuple[float, str]] = field(default_factory=list)  # (when, text delta) streamed

    def next_fault(self, streaming: bool) -> Fault | None:
        """Take one use of the first pending fault (a stream cut waits for a streamed call)."""
        if not self.faults or (self.faults[0].kind == "break" and not streaming):
            return None
        fault = self.faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self.faults.popleft()
        return fault


STATE: web.AppKey[ModelServerState] = web.AppKey("state", ModelServerState)


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for name, arguments in reply.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": name,
             "input": arguments}
        )  # fmt: skip
    return blocks


def _message(
    body: dict[str, Any], blocks: list[dict[str, Any]], stop_reason: str | None = None
) -> dict[str, Any]:
    tool_use = any(b["type"] == "tool_use" for b in blocks)
    stop = stop_reason or ("tool_use" if tool_use else "end_turn")
    output_tokens = sum(len(_words(json.dumps(b))) for b in blocks) or 1
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "scripted"),
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": max(1, len(json.dumps(body)) // 4),
            "output_tokens": output_tokens,
        },
    }


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _stream_events(message: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """Every SSE event of a message; the flag marks token-sized deltas that pace the stream."""
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[tuple[dict[str, Any], bool]] = [
        ({"type": "message_start", "message": start}, False),
        ({"type": "ping"}, False),
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(({"type": "content_block_start", "index": index,
                            "content_block": {"type": "text", "text": ""}}, False))  # fmt: skip
            for word in _words(block["text"]):
                events.append(({"type": "content_block_delta", "index": index,
                                "delta": {"type": "text_delta", "text": word}}, True))  # fmt: skip
        else:
            events.append(({"type": "content_block_start", "index": index,
                            "content_block": {**block, "input": {}}}, False))  # fmt: skip
            raw = json.dumps(block["input"])
            for cut in range(0, len(raw), 24):
                delta = {"type": "input_json_delta", "partial_json": raw[cut : cut + 24]}
                events.append(
                    ({"type": "content_block_delta", "index": index, "delta": delta}, False)
                )
        events.append(({"type": "content_block_stop", "index": index}, False))
    final = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": message["usage"]["output_tokens"]}
    events.append(({"type": "message_delta", "delta": final, "usage": usage}, False))
    events.append(({"type": "message_stop"}, False))
    return events


def _invalid(body: Any) -> str | None:
    """Why a request body is not a valid Messages API request, or None."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        return "max_tokens: must be a positive integer"
    if not isinstance(body.get("messages"), list):
        return "messages: field required"
    return None


def _error(status: int, message: str, retry_after: float | None = None) -> web.Response:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"),
                                       "message": message}}  # fmt: skip
    return web.json_response(body, status=status, headers=headers)


async def _messages(request: web.Request) -> web.StreamResponse:
    state: ModelServerState = request.app[STATE]
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        return _error(401, "missing API key")
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return _error(400, "body is not JSON")
    if problem := _invalid(body):
        return _error(400, problem)
    state.requests.append(body)
    fault = state.next_fault(bool(body.get("stream")))
    if fault is not None and fault.kind == "status":
        return _error(fault.status, "injected failure", fault.retry_after)
    scenario = state.scenario
    if scenario.latency_ms:
        await asyncio.sleep(scenario.latency_ms / 1000)
    position = locate(body)
    reply = reply_for(scenario, position) or unscripted_reply(scenario, position, body)
    message = _message(body, _blocks(reply), reply.stop_reason)
    state.served += 1
    if not body.get("stream"):
        return web.json_response(message)
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    pace = 1 / scenario.tokens_per_second if scenario.tokens_per_second else 0.0
    for sent, (event, is_token) in enumerate(_stream_events(message)):
        if fault is not None and fault.kind == "break" and sent >= fault.after_events:
            assert request.transport is not None
            request.transport.abort()  # the connection drops mid-stream, as a network fault would
            return response
        await response.write(_sse(event))
        if is_token:
            state.emitted.append((time.time(), event["delta"]["text"]))
        if is_token and pace:
            await asyncio.sleep(pace)
    await response.write_eof()
    return response


async def _add_faults(request: web.Request) -> web.Response:
    state: ModelServerState = request.app[STATE]
    raw = await request.json()
    for item in raw if isinstance(raw, list) else [raw]:
        state.faults.append(Fault(**item))
    return web.json_response({"pending": len(state.faults)})


async def _requests(request: web.Request) -> web.Response:
    state: ModelServerState = request.app[STATE]
    return web.json_response({"requests": state.requests, "served": state.served})


def make_app(scenario: Scenario) -> web.Application:
    """The server for one scenario; `app[STATE]` exposes faults and recorded requests."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = ModelServerState(scenario)
    app.router.add_post("/v1/messages", _messages)
    app.router.add_post("/_sandbox/faults", _add_faults)
    app.router.add_get("/_sandbox/requests", _requests)
    return app


@dataclass
class RunningModelServer:
    """A started server: its base URL (for ANTHROPIC_BASE_URL) and state."""

    url: str
    state: ModelServerState
    runner: web.AppRunner

    async def stop(self) -> None:
        """Stop serving."""
        await self.runner.cleanup()


async def start_model_server(
    scenario: Scenario, host: str = "127.0.0.1", port: int = 0
) -> RunningModelServer:
    """Start the server on the running loop (port 0 picks a free port)."""
    app = make_app(scenario)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return RunningModelServer(url=f"http://{host}:{bound}", state=app[STATE], runner=runner)
