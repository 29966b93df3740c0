"""Vertex AI and Bedrock through the anthropic SDK's own clients, made by
agents/model_client.make_client, against the local model server's Vertex and Bedrock routes
(sandbox/model/platforms.py): the request shapes each platform documents, the Google
credential chain minting a token at the local token endpoint, and Bedrock's SigV4 signature
verified by the server. A whole opsbot run goes through Vertex AI and through Bedrock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import MessageParam
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agents import service
from agents.events import Routed, TextDelta
from agents.llm import LlmClient, ModelRequest
from agents.model_client import make_client
from agents.model_provider import provider_problems
from agents.outcomes import SUCCEEDED
from agents.publisher import RecordingPublisher
from core.redact import Redactor
from core.settings import Settings
from sandbox.model.platforms import PLATFORM_CALLS, SANDBOX_AWS_KEYS
from sandbox.model.server import RunningModelServer, start_model_server
from tests.support import launched, make_settings, scripted, thread_and_message

PROJECT, REGION = "opsbot-test", "us-east5"
VERTEX_MODELS = {"model": "claude-sonnet-4-6", "router_model": "claude-haiku-4-5@20251001"}
BEDROCK_MODELS = {"model": "us.anthropic.claude-sonnet-4-6",
                  "router_model": "anthropic.claude-haiku-4-5-20251001-v1:0"}  # fmt: skip
ACCESS_KEY = next(iter(SANDBOX_AWS_KEYS))
TURN = {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "read the logs"}],
        "log_analyzer": [{"text": "Errors began at 14:02 UTC."}]}  # fmt: skip
LOOK: list[MessageParam] = [{"role": "user", "content": "look"}]
REQUEST = ModelRequest(model="m", system="You are opsbot's log_analyzer.", messages=list(LOOK))


@pytest.fixture
async def server() -> AsyncIterator[RunningModelServer]:
    running = await start_model_server(scripted([TURN, TURN, TURN]))
    yield running
    await running.stop()


def calls(server: RunningModelServer) -> list[dict[str, Any]]:
    return server.runner.app[PLATFORM_CALLS]


@pytest.fixture
def google_credentials(
    server: RunningModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Application Default Credentials: a service account key file (GOOGLE_APPLICATION_
    CREDENTIALS) whose token endpoint is the local server's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    adc = tmp_path / "service-account.json"
    adc.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "k1",
        "private_key": pem, "client_email": f"opsbot@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": f"{server.url}/token",
    }))  # fmt: skip
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Static AWS credentials in the environment, as the AWS chain reads them."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SANDBOX_AWS_KEYS[ACCESS_KEY])
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def vertex_settings(database_url: str, workspace: Path, server: RunningModelServer) -> Settings:
    return make_settings(database_url, workspace, "http://127.0.0.1:9", model_provider="vertex",
                         anthropic_base_url=None, anthropic_api_key=None,
                         vertex_project_id=PROJECT, vertex_region=REGION,
                         vertex_base_url=f"{server.url}/v1", **VERTEX_MODELS)  # fmt: skip


def bedrock_settings(
    database_url: str, workspace: Path, server: RunningModelServer, region: str = "us-west-2"
) -> Settings:
    return make_settings(database_url, workspace, "http://127.0.0.1:9", model_provider="bedrock",
                         anthropic_base_url=None, anthropic_api_key=None, aws_region=region,
                         bedrock_base_url=server.url, **BEDROCK_MODELS)  # fmt: skip


async def _text(_: str) -> None:
    return None


@pytest.mark.usefixtures("google_credentials")
async def test_vertex_calls_have_vertex_shape_and_a_minted_token(
    server: RunningModelServer, database_url: str, workspace: Path
) -> None:
    settings = vertex_settings(database_url, workspace, server)
    assert provider_problems(settings) == [], "the credential chain finds the credentials file"
    client = make_client(settings)
    assert isinstance(client, anthropic.AsyncAnthropicVertex)
    llm = LlmClient(client, Redactor())
    try:
        streamed = await llm.stream(REQUEST.model_copy(update={"model": settings.model}), _text)
        created = await llm.create(REQUEST.model_copy(update={"model": settings.router_model}))
        counted = await client.messages.count_tokens(model=settings.model,
                                                     messages=LOOK)  # fmt: skip
    finally:
        await client.close()
    assert streamed.content[0]["text"] == "Errors began at 14:02 UTC."
    assert created.content, "the create path answered"
    assert counted.input_tokens > 0
    base = f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/anthropic/models"
    assert [c["path"] for c in calls(server)] == [
        f"{base}/claude-sonnet-4-6:streamRawPredict",
        f"{base}/claude-haiku-4-5@20251001:rawPredict",
        f"{base}/count-tokens:rawPredict",
    ]
    stream_call, create_call, count_call = calls(server)
    for call in (stream_call, create_call):
        assert "model" not in call["body"], "Vertex takes the model in the URL only"
        assert call["body"]["anthropic_version"], "Vertex takes the API version in the body"
        assert call["headers"]["Authorization"] == "Bearer ya29.sandbox-1", "minted, then reused"
        assert "x-api-key" not in {name.lower() for name in call["headers"]}
    assert stream_call["body"]["stream"] is True
    assert "stream" not in create_call["body"] or create_call["body"]["stream"] is False
    assert count_call["body"]["model"] == "claude-sonnet-4-6", "count-tokens names it in the body"


@pytest.mark.usefixtures("aws_credentials")
async def test_bedrock_calls_are_signed_invokes_the_server_verifies(
    server: RunningModelServer, database_url: str, workspace: Path
) -> None:
    settings = bedrock_settings(database_url, workspace, server)
    assert provider_problems(settings) == []
    client = make_client(settings)
    assert isinstance(client, anthropic.AsyncAnthropicBedrock)
    llm = LlmClient(client, Redactor())
    try:
        streamed = await llm.stream(REQUEST.model_copy(update={"model": settings.model}), _text)
        created = await llm.create(REQUEST.model_copy(update={"model": settings.router_model}))
    finally:
        await client.close()
    assert streamed.content[0]["text"] == "Errors began at 14:02 UTC.", "decoded event stream"
    assert streamed.stop_reason == "end_turn"
    assert created.content
    assert [c["path"] for c in calls(server)] == [
        "/model/us.anthropic.claude-sonnet-4-6/invoke-with-response-stream",
        "/model/anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
    ]
    for call in calls(server):
        authorization = call["headers"]["Authorization"]
        assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
        assert "/us-west-2/bedrock/aws4_request, SignedHeaders=" in authorization
        assert call["headers"]["X-Amz-Date"].endswith("Z")
        assert call["body"]["anthropic_version"]
        assert not {"model", "stream"} & set(call["body"]), "both travel in the path"


@pytest.mark.parametrize(("variable", "value"), [
    ("AWS_SECRET_ACCESS_KEY", "not-the-sandbox-secret"),
    ("AWS_ACCESS_KEY_ID", "AKIANOTKNOWNTOSANDBOX"),
])  # fmt: skip
@pytest.mark.usefixtures("aws_credentials")
async def test_bedrock_refuses_a_request_signed_with_other_credentials(
    server: RunningModelServer, database_url: str, workspace: Path,
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
) -> None:  # fmt: skip
    monkeypatch.setenv(variable, value)
    # The SDK caches one boto3 session per region: another region reads the environment anew.
    region = {"AWS_SECRET_ACCESS_KEY": "eu-west-1", "AWS_ACCESS_KEY_ID": "eu-west-3"}[variable]
    client = make_client(bedrock_settings(database_url, workspace, server, region))
    try:
        with pytest.raises(anthropic.PermissionDeniedError):
            await LlmClient(client, Redactor()).create(REQUEST)
    finally:
        await client.close()
    assert calls(server) == [], "refused before the body is read"


@pytest.mark.parametrize("provider", ["vertex", "bedrock"])
@pytest.mark.usefixtures("google_credentials", "aws_credentials")
async def test_an_opsbot_run_answers_through_the_platform(
    server: RunningModelServer, database_url: str, workspace: Path, provider: str
) -> None:
    make = vertex_settings if provider == "vertex" else bedrock_settings
    settings = make(database_url, workspace, server)
    publisher = RecordingPublisher()
    async with launched(settings, publisher) as engine:
        assert isinstance(engine.llm.client, anthropic.AsyncAnthropicVertex
                          | anthropic.AsyncAnthropicBedrock)  # fmt: skip
        thread, message = thread_and_message("checkout is returning 500s")
        handle = await service.start_turn(thread, message)
        outcome = await asyncio.wait_for(handle.get_result(), 60)
    assert outcome == SUCCEEDED
    assert [r.agent for r in publisher.of(Routed)] == ["log_analyzer", "done"]
    assert "".join(t.text for t in publisher.of(TextDelta)) == "Errors began at 14:02 UTC."
    routes = [(c["path"].rsplit("/", 1)[-1], c["path"].split("/")[2]) for c in calls(server)]
    if provider == "vertex":  # the router's classification, the agent's stream, the router's
        assert [r for r, _ in routes] == ["claude-haiku-4-5@20251001:rawPredict",
                                          "claude-sonnet-4-6:streamRawPredict",
                                          "claude-haiku-4-5@20251001:rawPredict"]  # fmt: skip
    else:
        router, agent = BEDROCK_MODELS["router_model"], BEDROCK_MODELS["model"]
        assert [(m, r) for r, m in routes] == [(router, "invoke"),
                                               (agent, "invoke-with-response-stream"),
                                               (router, "invoke")]  # fmt: skip
