"""Signed but malformed requests to `/slack/events` get 400 and one log line, not Bolt's 500.

Slack retries an Events API delivery that gets a 5xx (up to three times,
https://api.slack.com/apis/events-api#retries), so a body Bolt cannot parse must not look like
a server failure. What Slack sends (https://api.slack.com/apis/events-api#receiving-events,
https://api.slack.com/interactivity/handling#payloads, https://api.slack.com/interactivity/slash-commands):
events as an `application/json` object; interactivity as a form whose `payload` field is a
JSON object; slash commands as a form. An unsigned malformed request gets Bolt's 401 (Bolt
parses a body before it checks the signature); every well-formed one goes on to Bolt.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NOT_UTF8 = "the body is not UTF-8"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def body_problem(content_type: str, raw: bytes) -> str | None:
    """Why a signed body is not one Slack sends, or None when it is (the empty body too)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    if not text:
        return None
    if content_type == JSON:
        return _json_object_problem(text, "the body")
    if content_type == FORM:
        try:
            fields = parse_qs(text, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            return "the form body is malformed"
        if "payload" in fields:
            if len(fields["payload"]) != 1:
                return "the form has more than one payload field"
            return _json_object_problem(fields["payload"][0], "the payload field")
        return None
    return f"content type {content_type or 'none'!r} (Slack sends {JSON} or {FORM})"


def _json_object_problem(text: str, what: str) -> str | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{what} is not JSON ({error.msg} at character {error.pos})"
    if not isinstance(value, dict):
        return f"{what} is JSON {type(value).__name__}, not an object"
    return None


def _signed(verifier: SignatureVerifier, request: web.Request, raw: bytes) -> bool:
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    try:
        return verifier.is_valid(raw, timestamp, request.headers.get("X-Slack-Signature"))
    except ValueError:  # a timestamp that is not a number
        return False


def reject_malformed_bodies(app: web.Application, signing_secret: str) -> None:
    """Add the middleware to `app` (Bolt's `web_app()`) before it starts."""
    verifier = SignatureVerifier(signing_secret)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        raw = await request.read()  # aiohttp keeps it: Bolt reads the same bytes again
        why = body_problem(request.content_type, raw)
        if why is None:
            return await handler(request)
        # The SDK's verifier (and Bolt) decode the body first: one that is not UTF-8 is
        # refused before, and never comes from Slack.
        if why == NOT_UTF8 or _signed(verifier, request, raw):
            log.warning("refused a signed request to %s (400): %s", request.path, why)
            return web.json_response({"ok": False, "error": "malformed_body"}, status=400)
        # Bolt parses before it verifies, so it would fail on this body with a 500 as well.
        log.debug("refused an unsigned malformed request to %s (401): %s", request.path, why)
        return web.json_response({"error": "invalid request"}, status=401)

    app.middlewares.append(guard)
