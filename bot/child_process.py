"""Child processes that never outlive their parent, and ports checked before anything starts.

A child gets SIGTERM when the parent dies, however it dies (SIGKILL included): Linux's
`prctl(PR_SET_PDEATHSIG)` (https://man7.org/linux/man-pages/man2/prctl.2.html), set between
fork and exec. Each child runs in its own session, so a terminal's Ctrl-C or hang-up reaches
only the parent, which stops the children in order.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that asks the kernel for SIGTERM when this process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child
    parent = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


async def spawn(*command: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Start `command` in its own session, to be ended when this process ends."""
    return await asyncio.create_subprocess_exec(
        *command, env=env, stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_die_with_parent(),
    )  # fmt: skip


async def stop_in_order(processes: list[asyncio.subprocess.Process], grace_s: float) -> None:
    """SIGTERM each still running process in turn, SIGKILL one that outlasts `grace_s`."""
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace_s)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass(frozen=True)
class Port:
    """A port a part listens on, what listens there, and how to pick another."""

    number: int
    what: str
    change: str


def _taken(port: Port, host: str) -> str | None:
    """Why `port` cannot be bound ("in use", or the OS's refusal); None when it is free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port.number))
        except OSError as error:
            return "in use" if error.errno == errno.EADDRINUSE else f"refused ({error})"
    return None


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def busy_port(ports: list[Port], host: str = "127.0.0.1") -> str | None:
    """One line naming every port of `ports` something else holds, with the flags that move
    them; None if all are free."""
    taken = [(port, why) for port in ports if (why := _taken(port, host))]
    if not taken:
        return None
    if all(why == "in use" for _, why in taken):
        named = _joined([f"{p.number} ({p.what})" for p, _ in taken])
        named += " are in use" if len(taken) > 1 else " is in use"
    else:
        named = _joined([f"{p.number} ({p.what}) is {why}" for p, why in taken])
    flags = _joined([p.change for p, _ in taken])
    example = " ".join(f"{p.change} N" for p, _ in taken)
    several = len(taken) > 1
    return (f"port{'s' if several else ''} {named}: stop what holds {'them' if several else 'it'} "
            f"(an earlier `make dev`?) or pick {'others' if several else 'another'} with {flags} "
            f"(make dev DEV_ARGS='{example}')")  # fmt: skip
