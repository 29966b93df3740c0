"""The local Slack page: static files, the workspace state as JSON, live updates over SSE.

What a person sees in a browser (`make dev`); every action it offers goes through the same
person-action endpoints the tests use, so a click in the page is a real `block_actions` flow.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.slack.incident_reset import fresh_incident
from sandbox.slack.model import Message
from sandbox.slack.server import SANDBOX, SlackSandbox

WEB = Path(__file__).resolve().parent / "web"
LIVE: web.AppKey[set[asyncio.Event]] = web.AppKey("live", set)
MIN_PUSH_INTERVAL_S = 0.1


def _message(sandbox: SlackSandbox, message: Message) -> dict[str, Any]:
    user = sandbox.workspace.users.get(message.user)
    return {
        "ts": message.ts, "user": message.user, "name": user.real_name if user else message.user,
        "is_bot": bool(user and user.is_bot), "text": message.visible_text(),
        "blocks": message.all_blocks() or message.blocks, "thread_ts": message.thread_ts,
        "streaming": message.streaming,
        "edited": message.edited, "reactions": dict(message.reactions),
        "reply_count": message.reply_count,
        "files": [{"title": f["title"], "name": f["name"], "mimetype": f["mimetype"],
                   "alt_txt": f.get("alt_txt", ""), "src": f"/_sandbox/file/{f['id']}"}
                  for f in message.files or []],
    }  # fmt: skip


def state(sandbox: SlackSandbox, channel: str, thread_ts: str | None, user: str) -> dict[str, Any]:
    """What the page shows: channels, people, a channel's messages, an open thread, modals."""
    space = sandbox.workspace
    found = space.channels.get(channel) or next(iter(space.channels.values()))
    top = sorted((m for m in found.messages.values() if not m.thread_ts or m.thread_ts == m.ts),
                 key=lambda m: float(m.ts))  # fmt: skip
    replies = space.thread(found.id, thread_ts) if thread_ts else []
    return {
        "team": {"id": space.team_id, "name": space.team_name, "domain": space.domain},
        "banner": sandbox.config.banner,
        "scenarios": sandbox.config.scenarios,
        "runs": bool(sandbox.config.app_runs_url),
        "users": [
            {"id": u.id, "name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
            for u in space.users.values()
        ],
        "channels": [{"id": c.id, "name": c.name} for c in space.channels.values()],
        "channel": found.id,
        "messages": [_message(sandbox, m) for m in top],
        "thread": [_message(sandbox, m) for m in replies],
        "session": sandbox.api.session_view(found.id, thread_ts),
        "ephemeral": [vars(e) for e in space.ephemeral if e.user == user and e.channel == found.id],
        "modals": [v for v in space.views if v.get("trigger_id")],
        "home": next((v["view"] for v in reversed(space.views) if v.get("user_id") == user), None),
    }


async def _index(_: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB / "index.html")


async def _state(request: web.Request) -> web.Response:
    query = request.query
    data = state(request.app[SANDBOX], query.get("channel", "C0INCIDENTS"),
                 query.get("thread") or None, query.get("user", "U0ONCALL"))  # fmt: skip
    return web.json_response(data)


async def _live(request: web.Request) -> web.StreamResponse:
    """Server-sent events: `changed` whenever something a person sees may have changed."""
    sandbox = request.app[SANDBOX]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})  # fmt: skip
    await response.prepare(request)
    closing = asyncio.Event()
    request.app[LIVE].add(closing)
    seen = len(sandbox.calls)
    try:
        await response.write(b"data: changed\n\n")
        while not closing.is_set():
            try:
                async with sandbox.changed:
                    await asyncio.wait_for(sandbox.changed.wait(), 15)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await asyncio.sleep(MIN_PUSH_INTERVAL_S)  # coalesce a burst of changes
            seen = len(sandbox.calls)
            await response.write(f"data: changed {seen}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        request.app[LIVE].discard(closing)
    return response


async def _runs(request: web.Request) -> web.Response:
    """The app's run data for a thread, fetched from the app (OPSBOT_RUNS_API)."""
    url = request.app[SANDBOX].config.app_runs_url
    if not url:
        return web.json_response({"ok": False, "error": "no_runs_url"}, status=404)
    try:
        async with aiohttp.ClientSession() as session, session.get(
            url, params={"thread": request.query.get("thread", "")},
            timeout=aiohttp.ClientTimeout(total=5),
        ) as answer:  # fmt: skip
            body = await answer.json()
    except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as error:
        return web.json_response({"ok": False, "error": f"app unreachable: {error}"}, status=502)
    return web.json_response(body)


async def _fresh_incident(request: web.Request) -> web.Response:
    """`POST {"name": scenario}`: the scenario picked again starts from its original files
    (unless a run of it has not finished); says what it did in `note`."""
    sandbox = request.app[SANDBOX]
    try:
        name = str((await request.json())["name"])
        outcome = await fresh_incident(sandbox.workspace, sandbox.config.scenarios, name,
                                       sandbox.config.app_runs_url)  # fmt: skip
    except (KeyError, ValueError, TypeError):
        return web.json_response({"ok": False, "error": "unknown_scenario"}, status=400)
    return web.json_response({"ok": True, **vars(outcome)})


def add_page_routes(app: web.Application) -> None:
    """Mount the page, its files, its state, its live updates and the run panel's data."""
    app[LIVE] = set()
    app.router.add_get("/", _index)
    app.router.add_static("/static/", WEB)
    app.router.add_get("/_sandbox/state", _state)
    app.router.add_get("/_sandbox/live", _live)
    app.router.add_get("/_sandbox/runs", _runs)
    app.router.add_post("/_sandbox/fresh_incident", _fresh_incident)

    async def end_live_streams(app: web.Application) -> None:
        for closing in app[LIVE]:
            closing.set()
            await app[SANDBOX].notify()

    app.on_shutdown.append(end_live_streams)
