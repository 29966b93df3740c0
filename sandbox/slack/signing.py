"""Slack's request signing (v0): what the sandbox signs with and what apps verify."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: str, body: bytes | str) -> str:
    """The `X-Slack-Signature` header value for a body sent at `timestamp`."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: str, body: bytes | str) -> dict[str, str]:
    """The two headers a signed request carries."""
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(secret, timestamp, body),
    }
