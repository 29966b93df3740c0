"""One worktree made at a time per repository: `git worktree add` (and the fetch before it) of
two threads at once read each other's half-written `.git/worktrees/<id>/` ("failed to read
.../commondir") or race for the same ref lock.

In: the repository's common git directory. The lock is an asyncio.Lock for the tasks of this
process plus an exclusive `flock(2)` on `<common git dir>/opsbot-worktrees.lock` for other
processes (several bot workers on one checkout).
Source: https://man7.org/linux/man-pages/man2/flock.2.html
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tools.changes._git import RepoError

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
"""event loop -> common git dir -> its lock (an asyncio.Lock serves one loop)."""


def _open_locked(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


@asynccontextmanager
async def making_worktrees(common_dir: Path) -> AsyncIterator[None]:
    """Hold the repository's worktree lock (waits for another holder; raises RepoError when
    the lock file cannot be made)."""
    resolved = await asyncio.to_thread(common_dir.resolve)
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    lock = locks.setdefault(resolved, asyncio.Lock())
    async with lock:
        try:
            fd = await asyncio.to_thread(_open_locked, resolved / "opsbot-worktrees.lock")
        except OSError as error:
            raise RepoError(f"the worktree lock in {resolved} failed: {error.strerror}") from None
        try:
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock
