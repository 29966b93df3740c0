"""The bot's own HTTP endpoints: `/healthz`, and `/runs` (run steps as JSON) when enabled.

`/runs` has no authentication: it is for the local page (`make dev`), off unless
OPSBOT_RUNS_API is set, and then the status port listens on 127.0.0.1 only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from agents import queries


def healthz(sandbox: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Liveness for load balancers and orchestrators, with whether commands run confined."""

    async def answer(_: web.Request) -> web.Response:
        active = sandbox.startswith("kernel sandbox active")
        return web.json_response({"ok": True, "sandbox": sandbox, "sandbox_active": active})

    return answer


async def run_json(run: queries.RunSummary) -> dict[str, Any]:
    """One run with its durable steps, offsets from the run's start, and its trace id."""
    steps = await queries.run_steps(run.run_id)
    pending = await queries.pending_approvals_of_run(run.run_id)
    first = min((s.started_at for s in steps if s.started_at), default=run.started_at)
    return {
        **run.model_dump(),
        "trace_id": queries.trace_id_hex(run.run_id),
        "waiting": [p.tool_name for p in pending],
        "steps": [
            {
                "name": s.name,
                "label": s.label,
                "waits": s.waits,
                "failed": s.failed,
                "duration_ms": s.duration_ms,
                "offset_ms": round(((s.started_at or first) - first) * 1000, 1),
            }
            for s in steps
        ],
    }


async def runs(request: web.Request) -> web.Response:
    """`GET /runs?thread=team:channel:ts`: the thread's runs, oldest first."""
    thread = request.query.get("thread", "")
    if thread.count(":") < 2:
        return web.json_response({"ok": False, "error": "thread=team:channel:ts"}, status=400)
    found = [await run_json(run) for run in await queries.thread_runs(thread)]
    return web.json_response({"ok": True, "runs": found})


def add_status_routes(app: web.Application, sandbox: str, *, with_runs: bool) -> None:
    """Mount `/healthz`, and `/runs` when `with_runs` (OPSBOT_RUNS_API; serve it on 127.0.0.1)."""
    app.router.add_get("/healthz", healthz(sandbox))
    if with_runs:
        app.router.add_get("/runs", runs)
