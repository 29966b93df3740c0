"""The stand-in forge (aiohttp): GitHub's REST API at / and /api/v3/ (GitHub Enterprise
Server), GitLab's REST API v4 at /api/v4/, state in memory (sandbox/forge/state.py), error
answers on demand (`state.fail_next`, `state.rate_limit`)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from aiohttp import web

from sandbox.forge import github, gitlab
from sandbox.forge.state import ForgeConfig, ForgeState

__all__ = ["STATE", "ForgeConfig", "ForgeState", "RunningForge", "make_app", "start_forge"]

STATE: web.AppKey[ForgeState] = web.AppKey("state", ForgeState)


async def _dispatch(request: web.Request) -> web.Response:
    state = request.app[STATE]
    # The raw path keeps GitLab's encoded project path (group%2Fapp) one segment.
    path = request.raw_path.split("?", 1)[0]
    query = f"?{request.query_string}" if request.query_string else ""
    state.requests.append(f"{request.method} {path}{query}")
    state.headers.append(dict(request.headers))
    if path.startswith("/api/v4/"):
        route, serve, sub = path, gitlab.serve, path.removeprefix("/api/v4")
    else:
        sub = path.removeprefix("/api/v3") if path.startswith("/api/v3/") else path
        route, serve = sub, github.serve
    fault = state.take_fault(f"{request.method} {route}")
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if isinstance(fault.body, str):
            return web.Response(status=fault.status, text=fault.body, headers=fault.headers)
        text = json.dumps(fault.body if fault.body is not None else {"message": "injected"})
        return web.Response(status=fault.status, text=text, headers=fault.headers,
                            content_type="application/json")  # fmt: skip
    return await serve(request, state, sub)


def make_app(config: ForgeConfig | None = None) -> web.Application:
    """The app; its ForgeState is at app[STATE]."""
    app = web.Application()
    app[STATE] = ForgeState(config or ForgeConfig())
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


@dataclass
class RunningForge:
    """A started stand-in: its base URL (GitHub's API root; GitLab's instance URL) and state."""

    url: str
    state: ForgeState
    runner: web.AppRunner

    async def stop(self) -> None:
        """Stop serving."""
        await self.runner.cleanup()


async def start_forge(config: ForgeConfig | None = None) -> RunningForge:
    """Start the stand-in on the running loop (config.port 0 picks a free port)."""
    config = config or ForgeConfig()
    app = make_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    bound = runner.addresses[0][1]
    return RunningForge(url=f"http://{config.host}:{bound}", state=app[STATE], runner=runner)
