"""`python -m sandbox.model --port P --scenario NAME|a,b|all`: serve a scripted model.

SIGTERM, SIGINT and SIGHUP stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from sandbox.model.scenario import load_scenarios
from sandbox.model.server import start_model_server
from sandbox.signals import until_stopped


async def _serve(args: argparse.Namespace) -> None:
    scenario = load_scenarios(args.scenario)
    overrides = {}
    if args.latency_ms is not None:
        overrides["latency_ms"] = args.latency_ms
    if args.tokens_per_second is not None:
        overrides["tokens_per_second"] = args.tokens_per_second
    scenario = dataclasses.replace(scenario, **overrides)
    server = await start_model_server(scenario, args.host, args.port)
    print(f"scripted model {scenario.name!r} at {server.url}", flush=True)
    print(f"ANTHROPIC_BASE_URL={server.url}", flush=True)
    try:
        await until_stopped()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.model", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--scenario", default="checkout-500", help="a bundled name, a path, 'a,b' or 'all'"
    )
    parser.add_argument("--latency-ms", type=float, default=None)
    parser.add_argument("--tokens-per-second", type=float, default=None)
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
