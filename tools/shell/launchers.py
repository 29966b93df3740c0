"""Launchers started ahead, so a confined command does not wait for an interpreter to start.

A launcher in waiting mode (`WAITING_ARGV`) starts, imports what it needs and blocks reading
its script on standard input; it applies confinement only after it has read it, so while it
waits it is an idle child of the bot with nothing to do. One is kept ready: a command takes
it (or starts one when none is ready: commands at once, or the one kept died) and the next
is started after the command ends, in the idle time before the next one. These are plain
`subprocess.Popen` children, bound to no event loop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass

from tools.confine import WAITING_ARGV

_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass
class Launcher:
    """A started launcher: its process and the read end of its merged output."""

    popen: subprocess.Popen[bytes]
    output_fd: int

    def discard(self) -> None:
        """Kill it (and its group), reap it and close its pipe."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self.output_fd)
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()


_lock = threading.Lock()
_ready: Launcher | None = None


def start_launcher() -> Launcher:
    """A new waiting launcher in a session of its own, its output on a fresh pipe."""
    read_fd, write_fd = os.pipe()
    try:
        popen = subprocess.Popen(
            WAITING_ARGV, stdin=subprocess.PIPE, stdout=write_fd, stderr=write_fd, cwd="/",
            env=_ENV, start_new_session=True,
        )  # fmt: skip
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return Launcher(popen, read_fd)


def take_launcher() -> Launcher:
    """The launcher kept ready if it is still alive, else a new one."""
    global _ready
    with _lock:
        launcher, _ready = _ready, None
    if launcher is not None and launcher.popen.poll() is None:
        return launcher
    if launcher is not None:
        launcher.discard()
    return start_launcher()


def keep_one_ready() -> None:
    """Start the launcher the next command takes (unless one is ready)."""
    global _ready
    with _lock:
        if _ready is not None:
            return
    launcher = start_launcher()
    with _lock:
        if _ready is None:
            _ready = launcher
            return
    launcher.discard()
