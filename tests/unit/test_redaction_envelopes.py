"""Tool result envelopes as the model receives them (JSON text) keep their evidence visible:
a value that holds blanks or escaped lines is prose or code, never one random token."""

from __future__ import annotations

import json

import pytest

from core.redact import Redactor

DIFF = (
    "diff --git a/README.md b/README.md\nindex 0c2bf46..498c35b 100644\n--- a/README.md\n"
    "+++ b/README.md\n@@ -1 +1 @@\n-# service\n+# service, changed\n"
)
EVIDENCE = [
    {"status": "ok", "data": {"diff": DIFF}},
    {"status": "ok", "data": {"output": "total 16\ndrwxr-xr-x 3 root root 4096 Nov 30 a.txt\n"}},
    {
        "status": "ok",
        "data": {"commits": ["4f2a9c1 2026-11-30 Dev: Raise BANK_TIMEOUT_MS 50→5000"]},
    },
    {"status": "ok", "data": {"text": "    1  def main(argv: list[str]) -> int:\n    2  pass"}},
    {"status": "error", "error": "git log failed: fatal: bad revision 'HEAD~99'"},
]


@pytest.mark.parametrize("envelope", EVIDENCE)
def test_a_tool_result_envelope_keeps_its_evidence(envelope: dict[str, object]) -> None:
    text = json.dumps(envelope)
    assert Redactor().redact(text) == text


def test_a_random_token_inside_an_envelope_is_still_redacted() -> None:
    token = "q8ZrT3vLw9XpN2mK7sB4yD6hJ1cF5gA0"
    text = json.dumps({"status": "ok", "data": {"session": token, "build": token + "x"}})
    redacted = Redactor().redact(text)
    assert token not in redacted


SECRET = "Zq8vN3xR7tL2mK9pW4yB6cH1"


@pytest.mark.parametrize(
    "text",
    [
        f"machine api.example.com\n  login deploy\n  password {SECRET}\n",
        f"machine api.example.com login deploy password {SECRET}\n",
        f"default login anonymous password {SECRET}",
        '{"outputs": {"db_pass": {"value": "' + SECRET + '", "sensitive": true}}}',
        '{"value": "' + SECRET + '", "type": "string", "sensitive": true}',
        '{"key": "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5v'
        + SECRET
        + '\\n-----END OPENSSH PRIVATE KEY-----\\n"}',
        '{"key": "-----BEGIN RSA PRIVATE KEY-----\\r\\nMIIEowIBAAKCAQEA' + SECRET + '\\r\\n"}',
    ],
)
def test_netrc_terraform_state_and_escaped_keys_are_redacted(text: str) -> None:
    assert SECRET not in Redactor().redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "the machine room password rotation policy is weak",
        '{"value": "3 replicas", "sensitive": false}',
        "machine learning pipelines: login page latency",
    ],
)
def test_prose_about_machines_and_values_stays(text: str) -> None:
    assert Redactor().redact(text) == text
