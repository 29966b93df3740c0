"""One `opsbot dev` per data folder: an advisory lock held for the process's life.

`fcntl.flock` (https://man7.org/linux/man-pages/man2/flock.2.html) on `<dir>/dev.lock`: the
kernel drops the lock when the holder's last descriptor closes, so a killed `opsbot dev` never
leaves a stale lock behind. The file also holds the holder's pid, for the line printed.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "dev.lock"


class FolderTaken(Exception):
    """Another live process holds the folder's lock; the message is the line to print."""


class DevLock:
    """The held lock on a data folder; `release()` (or process exit) frees it."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    def release(self) -> None:
        """Close the lock file (the kernel drops the lock)."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1


def hold_folder(root: Path) -> DevLock:
    """Create `root` if needed and lock it for this process.

    Raises `FolderTaken` (its text names the folder and the holder's pid) when another
    `opsbot dev` holds it; `OSError` when the folder cannot be written.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "?"
        os.close(descriptor)
        raise FolderTaken(
            f"opsbot dev already runs on {root} (pid {holder}): stop it, or use another --dir"
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return DevLock(descriptor)
