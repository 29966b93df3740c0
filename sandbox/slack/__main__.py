"""`python -m sandbox.slack --port 8765 --deliver socket|URL`: a local Slack workspace."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sandbox.slack.app import credentials, start_slack
from sandbox.slack.server import SandboxConfig


async def _serve(args: argparse.Namespace) -> None:
    config = SandboxConfig(deliver=args.deliver, rate_limits=not args.no_rate_limits)
    running = await start_slack(config, args.host, args.port)
    print(f"local Slack workspace at {running.url} (delivery: {args.deliver})", flush=True)
    for name, value in credentials(running.sandbox).items():
        print(f"{name}={value}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.slack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--deliver", default="socket", help="'socket', or the app's request URL (signed HTTP)"
    )
    parser.add_argument("--no-rate-limits", action="store_true")
    args = parser.parse_args(argv)
    if args.deliver != "socket" and not args.deliver.startswith(("http://", "https://")):
        print("error: --deliver must be 'socket' or an http(s) URL", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
