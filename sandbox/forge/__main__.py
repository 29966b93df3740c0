"""`python -m sandbox.forge --port P --token T --repo owner/name[=main] ...`: serve the stand-in
GitHub (at / and /api/v3) and GitLab (at /api/v4). SIGTERM, SIGINT and SIGHUP stop it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from sandbox.forge.server import ForgeConfig, start_forge
from sandbox.forge.state import Access
from sandbox.signals import until_stopped


async def _serve(config: ForgeConfig) -> None:
    forge = await start_forge(config)
    print(f"stand-in forge at {forge.url} (GitHub API: {forge.url}, GitLab: {forge.url})",
          flush=True)  # fmt: skip
    try:
        await until_stopped()
    finally:
        await forge.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.forge", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--token", action="append", default=[], help="a token with write access")
    parser.add_argument("--repo", action="append", default=[], help="path[=default branch]")
    args = parser.parse_args(argv)
    repos = dict([*r.split("=", 1), "main"][:2] for r in args.repo) or {"acme/shop": "main"}
    tokens: dict[str, Access] = {t: "write" for t in args.token} or {"forge-token": "write"}
    config = ForgeConfig(tokens=tokens, repos=repos, host=args.host, port=args.port)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
