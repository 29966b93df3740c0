"""How the stand-ins run from a terminal: until SIGINT, SIGTERM or SIGHUP."""

from __future__ import annotations

import asyncio
import signal


async def until_stopped() -> None:
    """Return when the process is asked to stop (Ctrl-C, `kill`, a closed terminal)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
