"""Which files inside the workspace no confined command may read, found by one walk.

A `.env` file (or `.env.*`, or anything under a `.env*` directory) holds credentials by
convention wherever it lies; a regular file with more than one hard link may be the same file
as one outside the workspace (Landlock allows by the path walked, so a hard link would carry
an outside file in). Both are hidden. `.git/objects` is skipped: a local clone hard-links its
objects, and they only hold the repository's own content.

The walk is cached per workspace for `TTL_S` seconds; a confined command cannot create
files there, and `forget()` drops the cache after an approved command or write could have.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

TTL_S = 30.0
MAX_ENTRIES = 200_000  # a walk that finds more stops, and what it found so far is hidden
_SKIPPED = {".git/objects", "node_modules", ".venv"}
_lock = threading.Lock()
_cache: dict[Path, tuple[float, tuple[Path, ...]]] = {}


def _dotenv(name: str) -> bool:
    return name == ".env" or name.startswith(".env.")


def _walk(root: Path) -> tuple[Path, ...]:
    hidden: list[Path] = []
    seen = 0
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        relative = here.relative_to(root).as_posix()
        kept = []
        for name in dirnames:
            path = here / name
            if _dotenv(name) and not path.is_symlink():
                hidden.append(path)
            elif f"{relative}/{name}".lstrip("./") not in _SKIPPED and name not in _SKIPPED:
                kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            seen += 1
            path = here / name
            try:
                info = os.lstat(path)
            except OSError:
                continue
            regular = stat.S_ISREG(info.st_mode)
            if regular and (_dotenv(name) or info.st_nlink > 1):
                hidden.append(path)
        if seen > MAX_ENTRIES:
            break
    return tuple(hidden)


def hidden_in(workspace: Path) -> tuple[Path, ...]:
    """Every `.env*` file or directory and every hard-linked file under `workspace` (real
    paths), from a walk at most `TTL_S` seconds old."""
    root = Path(os.path.realpath(workspace))
    now = time.monotonic()
    with _lock:
        cached = _cache.get(root)
        if cached is not None and now - cached[0] < TTL_S:
            return cached[1]
    found = _walk(root) if root.is_dir() else ()
    with _lock:
        _cache[root] = (now, found)
    return found


def forget(workspace: Path | None = None) -> None:
    """Drop the cached walk (of one workspace, or all): files may have been added."""
    with _lock:
        if workspace is None:
            _cache.clear()
        else:
            _cache.pop(Path(os.path.realpath(workspace)), None)
