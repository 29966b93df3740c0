"""The process-wide engine the workflow's steps reach (DBOS workflows are module-level)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.engine import Engine

_engine: Engine | None = None


def install(engine: Engine | None) -> None:
    """Make `engine` the one the workflow uses (None uninstalls it)."""
    global _engine
    _engine = engine


def current_engine() -> Engine:
    """The installed engine; fails clearly when the process did not launch one."""
    if _engine is None:
        raise RuntimeError("opsbot engine is not launched (call agents.service.launch first)")
    return _engine
