"""The scripted model behind Google Vertex AI's and Amazon Bedrock's routes, as the anthropic
SDK's `AsyncAnthropicVertex` and `AsyncAnthropicBedrock` call them.

Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude):
`POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict`
(`:streamRawPredict` for a stream, SSE as the Messages API's), the model in the URL and not in
the body, `anthropic_version` in the body, `Authorization: Bearer <access token>`; token counting
is `.../models/count-tokens:rawPredict`. `POST /token` stands in for Google's OAuth 2.0 token
endpoint (a service account's JWT grant answers an access token), so Application Default
Credentials of a service account whose `token_uri` points here work end to end.

Bedrock (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html):
`POST /model/{modelId}/invoke` (JSON) and `/model/{modelId}/invoke-with-response-stream` (the
AWS event stream: each Messages API event base64 in a `chunk` frame), `anthropic_version` in the
body and neither `model` nor `stream`; signed with SigV4 (service `bedrock`), which this server
verifies against SANDBOX_AWS_KEYS, or a Bedrock API key (`Authorization: Bearer`).

Every call is recorded in `app[PLATFORM_CALLS]` (path, headers, body) for tests to inspect.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from sandbox.model.faults import Fault

SANDBOX_GOOGLE_TOKEN = "ya29.sandbox-access-token"
"""An access token the Vertex routes accept besides those `POST /token` minted."""
SANDBOX_AWS_KEYS = {"AKIASANDBOXEXAMPLE01": "sandbox/Secret/Key/For/SigV4/Checks/000"}
"""Access key id -> secret key that the Bedrock routes verify SigV4 signatures with."""
BEDROCK_EXCEPTIONS = {
    "overloaded_error": "serviceUnavailableException",
    "api_error": "internalServerException",
    "rate_limit_error": "throttlingException",
}
"""A stream fault's Messages API error type -> the Bedrock ResponseStream exception it becomes."""


@dataclass(frozen=True)
class Wire:
    """How a streamed answer is framed: the Messages API's SSE, or Bedrock's event stream."""

    content_type: str
    event: Callable[[dict[str, Any]], bytes]
    error: Callable[[Fault], bytes]


class Answer(Protocol):
    """The server's answer to one Messages API request body (sandbox/model/server.answer)."""

    def __call__(
        self, request: web.Request, body: Any, arrived: float, wire: Wire = ...
    ) -> Awaitable[web.StreamResponse]: ...


PLATFORM_CALLS: web.AppKey[list[dict[str, Any]]] = web.AppKey("platform_calls", list)
MINTED: web.AppKey[set[str]] = web.AppKey("minted_tokens", set)


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    length = struct.pack(">H", len(raw_value))
    return bytes([len(raw_name)]) + raw_name + b"\x07" + length + raw_value  # 7: a string


def event_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event stream message: prelude (total and headers length, CRC32), string
    headers, payload, message CRC32 (https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html)."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    head = prelude + struct.pack(">I", binascii.crc32(prelude))
    message = head + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def _bedrock_event(event: dict[str, Any]) -> bytes:
    chunk = {"bytes": base64.b64encode(json.dumps(event).encode()).decode()}
    headers = {":event-type": "chunk", ":content-type": "application/json",
               ":message-type": "event"}  # fmt: skip
    return event_frame(headers, json.dumps(chunk).encode())


def _bedrock_error(fault: Fault) -> bytes:
    kind = BEDROCK_EXCEPTIONS.get(fault.type_name, "modelStreamErrorException")
    headers = {":exception-type": kind, ":content-type": "application/json",
               ":message-type": "exception"}  # fmt: skip
    return event_frame(headers, json.dumps({"message": fault.message}).encode())


BEDROCK_STREAM = Wire("application/vnd.amazon.eventstream", _bedrock_event, _bedrock_error)


def _record(request: web.Request, route: str, body: Any) -> None:
    call = {"route": route, "path": request.raw_path, "headers": dict(request.headers)}
    request.app[PLATFORM_CALLS].append({**call, "body": body})


def _google_error(status: int, message: str, kind: str) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": kind}}
    return web.json_response(body, status=status)


def _aws_error(status: int, kind: str, message: str) -> web.Response:
    headers = {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/"}
    return web.json_response({"message": message}, status=status, headers=headers)


def _body_problem(body: Any, forbidden: tuple[str, ...]) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if extra := [key for key in forbidden if key in body]:
        return f"extraneous key [{extra[0]}] is not permitted"
    if not isinstance(body.get("anthropic_version"), str) or not body["anthropic_version"]:
        return "anthropic_version: field required"
    return None


JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def _token(request: web.Request) -> web.Response:
    """Google's OAuth 2.0 token endpoint: a service account's signed JWT assertion
    (https://developers.google.com/identity/protocols/oauth2/service-account#httprest) or a
    refresh token buys a new access token (the assertion's signature is not checked)."""
    form = await request.post()
    grant = form.get("grant_type")
    assertion = str(form.get("assertion") or "")
    if not ((grant == JWT_BEARER and assertion.count(".") == 2)
            or (grant == "refresh_token" and form.get("refresh_token"))):  # fmt: skip
        return web.json_response({"error": "invalid_grant"}, status=400)
    token = f"ya29.sandbox-{len(request.app[MINTED]) + 1}"
    request.app[MINTED].add(token)
    return web.json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})


def _vertex_route(answer: Answer, count: Callable[[web.Request], Awaitable[web.Response]]) -> Any:
    async def predict(request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        model, _, method = request.match_info["target"].rpartition(":")
        if method not in ("rawPredict", "streamRawPredict") or not model:
            return _google_error(404, f"unknown method {method}", "NOT_FOUND")
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in request.app[MINTED] | {SANDBOX_GOOGLE_TOKEN}:
            return _google_error(401, "Request had invalid authentication credentials.",
                                 "UNAUTHENTICATED")  # fmt: skip
        try:
            body = await request.json()
        except ValueError:
            return _google_error(400, "body is not JSON", "INVALID_ARGUMENT")
        _record(request, "vertex", body)
        if model == "count-tokens":
            return await count(request)
        if problem := _body_problem(body, ("model",)):
            return _google_error(400, problem, "INVALID_ARGUMENT")
        if bool(body.get("stream")) != (method == "streamRawPredict"):
            return _google_error(400, f"{method} with stream={body.get('stream')}",
                                 "INVALID_ARGUMENT")  # fmt: skip
        return await answer(request, {**body, "model": model}, arrived)

    return predict


def _sigv4_problem(request: web.Request, raw: bytes) -> tuple[str, str] | None:
    """Why the request's SigV4 signature is not valid for SANDBOX_AWS_KEYS, or None."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    fields = dict(part.strip().split("=", 1) for part in
                  request.headers["authorization"].split(" ", 1)[1].split(","))  # fmt: skip
    key, _, region, service, _ = fields["Credential"].split("/")
    if key not in SANDBOX_AWS_KEYS:
        return (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    signed = fields["SignedHeaders"].split(";")
    url = f"{request.scheme}://{request.host}{request.raw_path}"
    copy = AWSRequest(method=request.method, url=url, data=raw,
                      headers={name: request.headers.get(name, "") for name in signed})  # fmt: skip
    copy.context["timestamp"] = request.headers.get("x-amz-date", "")
    token = request.headers.get("x-amz-security-token")
    signer = SigV4Auth(Credentials(key, SANDBOX_AWS_KEYS[key], token), service, region)
    expected = signer.signature(signer.string_to_sign(copy, signer.canonical_request(copy)), copy)
    if expected != fields["Signature"]:
        return "InvalidSignatureException", "The request signature we calculated does not match."
    return None


def _bedrock_route(answer: Answer) -> Any:
    async def invoke(request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        action = request.match_info["action"]
        if action not in ("invoke", "invoke-with-response-stream"):
            return _aws_error(404, "UnknownOperationException", f"unknown operation {action}")
        raw = await request.read()
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("AWS4-HMAC-SHA256 "):
            if refusal := _sigv4_problem(request, raw):
                return _aws_error(403, *refusal)
        elif not authorization.startswith("Bearer ") or len(authorization) < 8:
            return _aws_error(403, "MissingAuthenticationTokenException",
                              "Missing Authentication Token")  # fmt: skip
        try:
            body = json.loads(raw)
        except ValueError:
            return _aws_error(400, "ValidationException", "body is not JSON")
        _record(request, "bedrock", body)
        if problem := _body_problem(body, ("model", "stream")):
            return _aws_error(400, "ValidationException", problem)
        streaming = action == "invoke-with-response-stream"
        body = {**body, "model": request.match_info["model"], "stream": streaming}
        return await answer(request, body, arrived, BEDROCK_STREAM)

    return invoke


def add_platform_routes(
    app: web.Application, answer: Answer, count: Callable[[web.Request], Awaitable[web.Response]]
) -> None:
    """Add the Vertex AI, Google token and Bedrock routes; `answer` answers a Messages API
    body, `count` a `count_tokens` request."""
    app[PLATFORM_CALLS] = []
    app[MINTED] = set()
    vertex = "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{target}"
    app.router.add_post(vertex, _vertex_route(answer, count))
    app.router.add_post("/token", _token)
    app.router.add_post("/model/{model}/{action}", _bedrock_route(answer))
