"""Workspace confinement: every path a tool touches must resolve inside the workspace."""

from __future__ import annotations

import stat
from pathlib import Path

from tools.base import ToolError


def resolve_inside(workspace: Path, path: str, *, must_exist: bool = True) -> Path:
    """Resolve `path` (relative to the workspace) and refuse anything that escapes it."""
    if "\x00" in path:
        raise ToolError("path contains a NUL byte")
    root = workspace.resolve()
    candidate = Path(path)
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if target != root and root not in target.parents:
        raise ToolError(f"{path!r} is outside the workspace")
    if must_exist and not target.exists():
        raise ToolError(f"{path!r} does not exist")
    if target.exists():
        mode = target.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ToolError(f"{path!r} is not a regular file or directory")
    return target


def relative_name(workspace: Path, path: Path) -> str:
    """The workspace-relative name of a path, as tools report it."""
    return path.resolve().relative_to(workspace.resolve()).as_posix() or "."
