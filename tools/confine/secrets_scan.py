"""Which files inside the workspace no confined command may read, found by one walk.

Files that hold credentials by convention, wherever they lie: any name starting with `.env`
(`.env`, `.env.production`, `.envrc`, a `.envs/` directory and all below it), `.netrc`,
`.pgpass`, `.git-credentials` and Terraform state; and every regular file with more than one
hard link, which may be the same file as one outside the workspace (Landlock allows by the
path walked, so a hard link would carry an outside file in). All are hidden. The repository's
own `.git/objects` is not walked: a local clone hard-links its objects, and they only hold the
repository's content.

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
MAX_ENTRIES = 200_000  # a walk that finds more files stops and hides the whole workspace

_lock = threading.Lock()
_cache: dict[Path, tuple[float, tuple[Path, ...]]] = {}


CREDENTIAL_FILES = frozenset({".netrc", "_netrc", ".pgpass", ".git-credentials"})


def holds_credentials(name: str) -> bool:
    """A file or directory name that holds credentials by convention."""
    return (name.startswith(".env") or name in CREDENTIAL_FILES
            or name.endswith((".tfstate", ".tfstate.backup")))  # fmt: skip


def _walk(root: Path) -> tuple[Path, ...]:
    hidden: list[Path] = []
    seen = 0
    objects = root / ".git" / "objects"
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        kept = []
        for name in dirnames:
            path = here / name
            if holds_credentials(name) and not path.is_symlink():
                hidden.append(path)
            elif path != objects:
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
            if regular and (holds_credentials(name) or info.st_nlink > 1):
                hidden.append(path)
        if seen > MAX_ENTRIES:
            return (root,)  # too large to know: the whole workspace is hidden (fail closed)
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
