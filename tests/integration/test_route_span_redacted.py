"""A router's reason reaches the route span redacted: the span goes to whatever trace backend
is configured, whether or not message content is recorded (OPSBOT_OTEL_RECORD_CONTENT)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agents import service
from agents.publisher import RecordingPublisher
from sandbox.model.server import start_model_server
from tests.support import launched, make_settings, scripted, thread_and_message

AWS_KEY = "AKIAQ7ZX4LPMWN2R8TVB"
SLACK_TOKEN = "xoxb-2468013579-1357924680-QwErTyUiOpAsDfGhJkLzXcVb"
PEM_BODY = "MIIEowIBAAKCAQEA7bq9xPzK2mQyFv3LrT8nW1sHdGcJ0aZeUoYiXk4N5pR6"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("reason", "secret"),
    [(f"the deploy used key {AWS_KEY} from the logs", AWS_KEY),
     (f"the bot token {SLACK_TOKEN} leaked into the config", SLACK_TOKEN),
     (f"found this in the repo:\n{PEM}", PEM_BODY)],
    ids=["aws-key", "slack-token", "private-key"],
)  # fmt: skip
async def test_a_secret_in_the_routers_reason_is_redacted_on_the_route_span(
    database_url: str, workspace: Path, reason: str, secret: str
) -> None:
    turn = {"match": ".*", "router": [{"agent": "log_analyzer", "reason": reason}],
            "log_analyzer": [{"text": "Looked."}]}  # fmt: skip
    model = await start_model_server(scripted([turn]))
    exporter = InMemorySpanExporter()
    try:
        settings = make_settings(database_url, workspace, model.url)
        async with launched(settings, RecordingPublisher(), exporter):
            thread, message = thread_and_message("why are errors up?")
            await asyncio.wait_for((await service.start_turn(thread, message)).get_result(), 60)
    finally:
        await model.stop()
    routes = [dict(s.attributes or {}) for s in exporter.get_finished_spans()
              if (s.attributes or {}).get("opsbot.route.agent") == "log_analyzer"]  # fmt: skip
    assert routes, "the route span was exported"
    assert secret not in str(routes)
    assert "[REDACTED" in str(routes[0]["opsbot.route.reason"])
