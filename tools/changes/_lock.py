"""Locks of the change layer, each an asyncio.Lock for this process's tasks plus an exclusive
`flock(2)` on a file in the repository's common git directory for other processes (several bot
workers on one checkout). Source: https://man7.org/linux/man-pages/man2/flock.2.html

- `making_worktrees`: one worktree made at a time per repository; two threads' `git worktree
  add` (and the fetches before them) at once read each other's half-written
  `.git/worktrees/<id>/` ("failed to read .../commondir") or race for one ref lock.
- `proposing`: one proposal (push, pull request, comment) of a branch at a time.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from tools.changes._git import RepoError

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
"""event loop -> lock file -> its lock (an asyncio.Lock serves one loop)."""


def _open_locked(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


@asynccontextmanager
async def holding(lock_file: Path) -> AsyncIterator[None]:
    """Hold the exclusive lock `lock_file` (made if missing): this process's tasks and other
    processes wait for its holder. RepoError when the lock file cannot be made."""
    parent = await asyncio.to_thread(lock_file.parent.resolve)
    resolved = parent / lock_file.name
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    lock = locks.setdefault(resolved, asyncio.Lock())
    async with lock:
        try:
            fd = await asyncio.to_thread(_open_locked, resolved)
        except OSError as error:
            raise RepoError(f"the lock {resolved} failed: {error.strerror}") from None
        try:
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def making_worktrees(common_dir: Path) -> AbstractAsyncContextManager[None]:
    """The repository's worktree lock, `<common git dir>/opsbot-worktrees.lock`."""
    return holding(common_dir / "opsbot-worktrees.lock")


def proposing(common_dir: Path, branch: str) -> AbstractAsyncContextManager[None]:
    """The lock of one branch's push and pull request, `<common git dir>/opsbot-<branch with /
    as ->.lock`: two proposals of one thread at once (parallel tool calls, or two runs of the
    thread) push, open or comment once."""
    return holding(common_dir / f"{branch.replace('/', '-')}.lock")
