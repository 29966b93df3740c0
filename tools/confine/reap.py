"""Ending every process a command started, also those that left its process group.

A process can leave its group (`setsid`), so killing the group at the end is not enough:
each command's processes carry a tag in their environment (`TAG_VARIABLE`), which children
inherit, and `kill_tagged` sends SIGKILL to every process of this user whose environment
holds it. A process that clears its own environment escapes the scan; it is still confined
(no writes, no network, its CPU time limited) and documented in docs/safety.md.
"""

from __future__ import annotations

import os
import secrets
import signal
from pathlib import Path

TAG_VARIABLE = "OPSBOT_COMMAND_TAG"


def new_tag() -> str:
    """A fresh tag for one command's processes."""
    return secrets.token_hex(12)


def tagged(tag: str) -> list[int]:
    """The pids whose environment holds `tag` (those this user may read)."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\x00"):
            found.append(int(entry.name))
    return found


def kill_tagged(tag: str) -> int:
    """SIGKILL every process carrying `tag`; how many were found."""
    pids = tagged(tag)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    return len(pids)
