"""The scripted Messages API server (aiohttp): SSE streaming, plain JSON, errors on demand;
the same answers on Vertex AI's and Bedrock's routes (sandbox/model/platforms.py)."""

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

from sandbox.model.faults import (
    CUT_OFF,
    ERROR_TYPES,
    Fault,
    cut_events,
    error_event,
    max_input_tokens_from_env,
    message_problem,
    prompt_tokens,
    take_fault,
)
from sandbox.model.platforms import Wire, add_platform_routes
from sandbox.model.prompt_cache import PromptCache, breakpoint_problem
from sandbox.model.scenario import Reply, Scenario, locate, reply_for, unscripted_reply
from sandbox.model.thinking import (
    config_problem,
    default_thinking,
    passed_back_problem,
    thinking_blocks,
    thinking_events,
    thinking_on,
)

__all__ = ["Fault", "ModelServerState", "RunningModelServer", "make_app", "start_model_server"]


@dataclass
class ModelServerState:
    """The script, pending faults, and every request received (for tests to inspect)."""

    scenario: Scenario
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    received: list[float] = field(default_factory=list)
    """When each of `requests` arrived (time.time(), seconds), in the same order."""
    served: int = 0
    emitted: list[tuple[float, str]] = field(default_factory=list)  # (when, text delta) streamed
    max_input_tokens: int | None = field(default_factory=max_input_tokens_from_env)
    """The context window enforced on every request (400 "prompt is too long"), or None."""
    cache: PromptCache = field(default_factory=PromptCache)
    """Prefixes written by requests with cache breakpoints (sandbox/model/prompt_cache.py)."""

    def next_fault(self, streaming: bool, role: str = "") -> Fault | None:
        """Take one use of the first pending fault (stream faults wait for a streamed call)."""
        return take_fault(self.faults, streaming, role)


STATE: web.AppKey[ModelServerState] = web.AppKey("state", ModelServerState)


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def _blocks(reply: Reply, thinks: str | None = None) -> list[dict[str, Any]]:
    """The reply's blocks, after its thinking (`thinks`: the text) when the request asks."""
    blocks = thinking_blocks(thinks, reply.redacted_thinking) if thinks is not None else []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for name, arguments in reply.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": name,
             "input": arguments}
        )  # fmt: skip
    return blocks


def _message(
    body: dict[str, Any], blocks: list[dict[str, Any]], stop_reason: str | None = None,
    prompt: dict[str, int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The reply message; `prompt` holds its input usage fields (all uncached without)."""
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
            **(prompt or {"input_tokens": prompt_tokens(body)}),
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
        elif block["type"] == "thinking":
            events += [(event, False) for event in thinking_events(index, block)]
        elif block["type"] == "redacted_thinking":  # opaque: whole in its start event
            events.append(({"type": "content_block_start", "index": index,
                            "content_block": block}, False))  # fmt: skip
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


def _error(
    status: int, message: str, retry_after: float | None = None, kind: str = ""
) -> web.Response:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    body = {"type": "error", "error": {"type": kind or ERROR_TYPES.get(status, "api_error"),
                                       "message": message}}  # fmt: skip
    return web.json_response(body, status=status, headers=headers)


SSE = Wire("text/event-stream", _sse, error_event)


async def _messages(request: web.Request) -> web.StreamResponse:
    arrived = time.time()
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        return _error(401, "missing API key")
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return _error(400, "body is not JSON")
    return await answer(request, body, arrived)


async def answer(
    request: web.Request, body: Any, arrived: float, wire: Wire = SSE
) -> web.StreamResponse:
    """Answer one Messages API request `body` (received at `arrived`) as the script says:
    plain JSON, or streamed over `wire` when the body asks for a stream."""
    state: ModelServerState = request.app[STATE]
    if problem := _invalid(body):
        return _error(400, problem)
    state.requests.append(body)
    state.received.append(arrived)
    if problem := message_problem(body["messages"]) or config_problem(body):
        return _error(400, problem)
    if problem := passed_back_problem(body):
        return _error(400, problem)
    tokens = prompt_tokens(body)
    if state.max_input_tokens is not None and tokens > state.max_input_tokens:
        limit = state.max_input_tokens
        return _error(400, f"prompt is too long: {tokens} tokens > {limit} maximum")
    if problem := breakpoint_problem(body):
        return _error(400, problem)
    position = locate(body)
    fault = state.next_fault(bool(body.get("stream")), position.role)
    if fault is not None and fault.kind == "status":
        return _error(fault.status, fault.message, fault.retry_after, fault.error_type)
    scenario = state.scenario
    if scenario.latency_ms:
        await asyncio.sleep(scenario.latency_ms / 1000)
    prompt = state.cache.usage(body, tokens)
    if fault is not None and fault.kind == "reply":
        message = _message(body, _raw_blocks(fault.content or []), fault.stop_reason, prompt)
    else:
        reply = reply_for(scenario, position) or unscripted_reply(scenario, position, body)
        thinks = (reply.thinking or default_thinking(position.role, position.step)
                  if thinking_on(body) else None)  # fmt: skip
        message = _message(body, _blocks(reply, thinks), reply.stop_reason, prompt)
    state.served += 1
    if not body.get("stream"):
        return web.json_response(message)
    return await _stream(request, state, message, fault, wire)


def _raw_blocks(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A fault's blocks as given, each tool_use with an id."""
    return [
        {**block, "id": block.get("id") or f"toolu_{uuid.uuid4().hex[:20]}"}
        if block.get("type") == "tool_use" else dict(block)
        for block in content
    ]  # fmt: skip


async def _stream(
    request: web.Request, state: ModelServerState, message: dict[str, Any], fault: Fault | None,
    wire: Wire,
) -> web.StreamResponse:  # fmt: skip
    """Send the message's events over `wire`, paced, with the fault's failure (if any)."""
    response = web.StreamResponse(headers={"content-type": wire.content_type})
    await response.prepare(request)
    scenario = state.scenario
    pace = 1 / scenario.tokens_per_second if scenario.tokens_per_second else 0.0
    events = _stream_events(message)
    kind = fault.kind if fault is not None else ""
    if fault is not None and kind == "reply" and fault.stop_reason in CUT_OFF:
        events = cut_events(events, fault)
    for sent, (event, is_token) in enumerate(events):
        if fault is not None and sent >= fault.after_events:
            if kind == "break":
                assert request.transport is not None
                request.transport.abort()  # the connection drops mid-stream (a network fault)
                return response
            if kind == "stream_error":
                await response.write(wire.error(fault))
                break
        if kind == "no_stop" and event["type"] == "message_stop":
            break
        if fault is not None and kind == "no_stop" and sent >= fault.after_events:
            break
        await response.write(wire.event(event))
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


async def _set_limits(request: web.Request) -> web.Response:
    """`POST /_sandbox/limits {"max_input_tokens": N | null}`: the enforced context window."""
    state: ModelServerState = request.app[STATE]
    raw = await request.json()
    value = raw.get("max_input_tokens") if isinstance(raw, dict) else None
    state.max_input_tokens = int(value) if isinstance(value, int) and value > 0 else None
    return web.json_response({"max_input_tokens": state.max_input_tokens})


async def _count_tokens(request: web.Request) -> web.Response:
    """`POST /v1/messages/count_tokens`: the prompt's size as this server counts it (4
    characters a token), in the Messages API's shape (`{"input_tokens": N}`)."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return web.json_response({"type": "error", "error": {"type": "invalid_request_error",
                                  "message": "messages: Field required"}}, status=400)  # fmt: skip
    if problem := passed_back_problem(body):  # thinking blocks are checked as on a call
        return _error(400, problem)
    return web.json_response({"input_tokens": prompt_tokens(body)})


async def _requests(request: web.Request) -> web.Response:
    state: ModelServerState = request.app[STATE]
    return web.json_response({"requests": state.requests, "served": state.served})


def make_app(scenario: Scenario) -> web.Application:
    """The server for one scenario; `app[STATE]` exposes faults and recorded requests."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = ModelServerState(scenario)
    app.router.add_post("/v1/messages", _messages)
    app.router.add_post("/v1/messages/count_tokens", _count_tokens)
    add_platform_routes(app, answer, _count_tokens)
    app.router.add_post("/_sandbox/faults", _add_faults)
    app.router.add_post("/_sandbox/limits", _set_limits)
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
