"""`python -m sandbox.slack --port 8765 --deliver socket|URL`: a local Slack workspace.

The app's credentials are random unless SANDBOX_SLACK_BOT_TOKEN, SANDBOX_SLACK_APP_TOKEN and
SANDBOX_SLACK_SIGNING_SECRET give them (so the process that starts it knows them, and a bot
with other credentials is refused). SIGTERM, SIGINT and SIGHUP stop it, keeping `--state`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from sandbox.signals import until_stopped
from sandbox.slack import persist
from sandbox.slack.app import credentials, start_slack
from sandbox.slack.server import SandboxConfig


def _scenarios(names: str | None) -> list[dict[str, str]]:
    if not names:
        return []
    from sandbox.model.scenario import load_scenario, load_scenarios

    combined = load_scenarios(names)
    listed = combined.extras.get("scenarios")
    if listed:
        return list(listed)
    one = load_scenario(names)
    return [{"name": one.name, "description": one.description, "prompt": one.prompt}]


def _credentials_from_environment() -> dict[str, str]:
    names = {"bot_token": "SANDBOX_SLACK_BOT_TOKEN", "app_token": "SANDBOX_SLACK_APP_TOKEN",
             "signing_secret": "SANDBOX_SLACK_SIGNING_SECRET"}  # fmt: skip
    return {field: os.environ[name] for field, name in names.items() if os.environ.get(name)}


async def _serve(args: argparse.Namespace) -> None:
    config = SandboxConfig(
        deliver=args.deliver, rate_limits=not args.no_rate_limits, banner=args.banner,
        scenarios=_scenarios(args.scenarios), app_runs_url=args.app_runs_url,
        credentials=_credentials_from_environment(),
    )  # fmt: skip
    running = await start_slack(config, args.host, args.port)
    state = Path(args.state) if args.state else None
    if state is not None and (kept := persist.load(running.sandbox.workspace, state)):
        print(f"kept {kept} message(s) from {state}", flush=True)
    print(f"local Slack workspace at {running.url} (delivery: {args.deliver})", flush=True)
    for name, value in credentials(running.sandbox).items():
        print(f"{name}={value}", flush=True)
    try:
        await until_stopped()
    finally:
        await running.stop()
        if state is not None:
            persist.save(running.sandbox.workspace, state)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.slack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--deliver", default="socket", help="'socket', or the app's request URL (signed HTTP)"
    )
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--state", help="a JSON file that keeps the messages across restarts")
    parser.add_argument("--banner", default="", help="a line shown atop the page")
    parser.add_argument("--scenarios", help="incidents the page offers: a name, 'a,b' or 'all'")
    parser.add_argument("--app-runs-url", default="", help="the app's run data, for the page")
    args = parser.parse_args(argv)
    if args.deliver != "socket" and not args.deliver.startswith(("http://", "https://")):
        print("error: --deliver must be 'socket' or an http(s) URL", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args))
    except (OSError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
