"""HTTP mode: `POST /slack/events` handed to Bolt, with the bodies Slack sends read right.

Bolt's aiohttp adapter reads any form body containing the text "payload" as an
interactivity payload, so a slash command like `/opsbot status payload-api` reaches no
listener (404, and the person sees `dispatch_failed`). Here a form's fields are taken as a
slash command unless it has a `payload` field (https://api.slack.com/interactivity/slash-commands).
Malformed bodies are refused before Bolt (`bot.request_guard`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.request_guard import FORM, reject_malformed_bodies


async def bolt_request(request: web.Request) -> AsyncBoltRequest:
    """Bolt's request for `request`; a form without a `payload` field is its fields."""
    bolt = await to_bolt_request(request)
    if request.content_type == FORM:
        fields = dict(parse_qsl(bolt.raw_body, keep_blank_values=True))
        if "payload" not in fields:
            bolt.body = fields
            bolt.context = build_async_context(AsyncBoltContext({}), fields)
    return bolt


def events_app(app: AsyncApp, signing_secret: str, path: str = "/slack/events") -> web.Application:
    """An aiohttp application serving `app` at `path` (events, interactivity, commands)."""

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post(path, handle)
    reject_malformed_bodies(web_app, signing_secret)
    return web_app
