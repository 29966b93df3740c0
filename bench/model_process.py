"""`python -m bench.model_process PORT LATENCY_MS TOKENS_PER_S investigation|one-command`: a
benchmark's scripted model in its own process, as a real model API is outside the worker."""

from __future__ import annotations

import asyncio
import dataclasses
import sys

from bench.harness import ONE_COMMAND, investigation_only
from sandbox.model.server import start_model_server


async def _serve(port: int, latency_ms: float, tokens_per_second: float, script: str) -> None:
    if script == "one-command":
        scenario = dataclasses.replace(
            ONE_COMMAND, latency_ms=latency_ms, tokens_per_second=tokens_per_second
        )
    else:
        scenario = investigation_only(latency_ms=latency_ms, tokens_per_second=tokens_per_second)
    server = await start_model_server(scenario, "127.0.0.1", port)
    print(server.url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]))
