"""Log tools: search_logs and read_log over the files and globs of OPSBOT_LOG_SOURCES."""

from __future__ import annotations

import asyncio
import glob as globlib
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError
from tools.workspace import open_file_at, parent_dir

_TIMESTAMP = re.compile(
    r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
)
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_GLOB_CHARS = re.compile(r"[*?[]")


@dataclass(frozen=True)
class LogFile:
    """One log file: a trusted root directory and the file's real path below it."""

    root: Path
    parts: tuple[str, ...]
    in_workspace: bool

    @property
    def path(self) -> Path:
        """The file's real path."""
        return self.root.joinpath(*self.parts)

    @property
    def name(self) -> str:
        """The file name, as results report it."""
        return self.parts[-1]


def _static_root(source: str) -> Path:
    """The part of an absolute source before its first glob character (a plain file: its
    directory), resolved: the operator configured it, so it is trusted as it is."""
    parts = Path(source).parts
    fixed = next((i for i, part in enumerate(parts) if _GLOB_CHARS.search(part)), None)
    if fixed is None:
        return Path(source).resolve().parent
    return Path(*parts[:fixed]).resolve()


def _source_files(source: str, workspace: Path) -> list[LogFile]:
    """The regular files one source names whose real path stays below its root."""
    absolute = Path(source).is_absolute()
    root = _static_root(source) if absolute else workspace.resolve()
    pattern = source if absolute else str(workspace / source)
    found = []
    for match in globlib.glob(pattern, recursive=True):
        try:
            real = Path(match).resolve()
            status = real.stat()
        except (OSError, RuntimeError):  # a dangling link or a link loop: nothing to read
            continue
        if not real.is_relative_to(root) or real == root:
            continue  # a symlink (or `..`) that leaves the root: never listed, never read
        if not stat.S_ISREG(status.st_mode) or (not absolute and status.st_nlink > 1):
            continue  # a FIFO, device or directory; or a hard link, maybe to a file outside
        found.append(LogFile(root, real.relative_to(root).parts, not absolute))
    return found


def log_files(ctx: ToolContext) -> list[LogFile]:
    """Every file the configured sources name, in a stable order.

    Relative sources (globs included) list only files whose real path is inside the
    workspace; absolute sources are kept as configured, minus symlinks leaving their root.
    """
    files: dict[Path, LogFile] = {}
    for source in ctx.log_sources:
        for log in _source_files(source, ctx.workspace):
            files.setdefault(log.path, log)
    return [files[path] for path in sorted(files)]


def read_log_text(log: LogFile) -> str:
    """The text of a listed log file, opened from its root without following a symlink
    (a directory swapped for a link since it was listed is refused: `ToolError`)."""
    shown = "/".join(log.parts)
    with parent_dir(log.root, shown) as (parent, name):
        fd = open_file_at(parent, name, shown, single_link=log.in_workspace)
    with os.fdopen(fd, "rb") as stream:
        return stream.read().decode("utf-8", errors="replace")


def line_time(line: str) -> datetime | None:
    """The timestamp a log line starts with, if any (naive times are taken as UTC)."""
    match = _TIMESTAMP.match(line)
    if match is None:
        return None
    try:
        parsed = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_since(since: str, newest: datetime | None) -> datetime:
    """An ISO time, or a duration like `15m` counted back from the newest log line."""
    duration = _DURATION.match(since.strip())
    if duration:
        anchor = newest or datetime.now(UTC)
        return anchor - timedelta(**{_UNITS[duration.group(2)]: int(duration.group(1))})
    try:
        parsed = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"since={since!r} is neither an ISO time nor a duration like 15m") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SearchLogsInput(BaseModel):
    """Search the configured log sources."""

    query: str = Field(description="Python regular expression matched against each line")
    since: str | None = Field(
        default=None,
        description="ISO time, or a duration like 15m/2h counted back from the newest line",
    )
    limit: int = Field(default=50, ge=1, le=1000)


def _text_or_none(log: LogFile) -> str | None:
    """The file's text; None when it changed into something not to read since it was listed."""
    try:
        return read_log_text(log)
    except (ToolError, OSError):
        return None


def _search_logs(ctx: ToolContext, args: SearchLogsInput) -> dict[str, Any]:
    pattern = _compile(args.query)
    files = log_files(ctx)
    if not files:
        raise ToolError("no log sources are configured or none exist (OPSBOT_LOG_SOURCES)")
    contents = {log: text for log in files if (text := _text_or_none(log)) is not None}
    cutoff = None
    if args.since:
        times = [t for text in contents.values() for t in map(line_time, text.splitlines()) if t]
        cutoff = parse_since(args.since, max(times) if times else None)
    matches: list[dict[str, Any]] = []
    total = 0
    for log, text in contents.items():
        for number, line in enumerate(text.splitlines(), start=1):
            stamp = line_time(line)
            if cutoff and stamp and stamp < cutoff:
                continue
            if pattern.search(line):
                total += 1
                if len(matches) < args.limit:
                    matches.append({"file": log.name, "line": number, "text": line})
    return {"matches": matches, "total_matches": total, "files": [log.name for log in files]}


async def search_logs(args: SearchLogsInput, ctx: ToolContext) -> dict[str, Any]:
    """Return matching lines (file, line number, text) and how many matched in all."""
    return await asyncio.to_thread(_search_logs, ctx, args)


class ReadLogInput(BaseModel):
    """Read part of one log file from the configured sources."""

    path: str = Field(description="File name (or path) as search_logs reports it")
    start_line: int = Field(default=1, ge=1)
    limit: int = Field(default=200, ge=1, le=2000)
    query: str | None = Field(default=None, description="Only lines matching this regex")
    since: str | None = Field(default=None, description="ISO time or a duration like 30m")


def _find_log(ctx: ToolContext, name: str) -> LogFile:
    """The listed log file `name` names (its file name, real path or a tail of it)."""
    for log in log_files(ctx):
        path = log.path
        if name in (log.name, str(path)) or path.as_posix().endswith("/" + name.lstrip("/")):
            return log
    raise ToolError(f"{name!r} is not one of the configured log files")


def _compile(query: str) -> re.Pattern[str]:
    try:
        return re.compile(query)
    except re.error as exc:
        raise ToolError(f"invalid query: {exc}") from None


async def read_log(args: ReadLogInput, ctx: ToolContext) -> dict[str, Any]:
    """Return numbered lines of a log file, optionally filtered by regex and time window."""
    log = _find_log(ctx, args.path)
    lines = (await asyncio.to_thread(read_log_text, log)).splitlines()
    numbered = list(enumerate(lines, start=1))[args.start_line - 1 :]
    if args.since:
        times = [t for t in map(line_time, lines) if t]
        cutoff = parse_since(args.since, max(times) if times else None)
        numbered = [(n, line) for n, line in numbered if (line_time(line) or cutoff) >= cutoff]
    if args.query:
        pattern = _compile(args.query)
        numbered = [(n, line) for n, line in numbered if pattern.search(line)]
    chosen = numbered[: args.limit]
    return {
        "file": log.name,
        "total_lines": len(lines),
        "lines": [f"{n}: {line}" for n, line in chosen],
        "more": len(numbered) > len(chosen),
    }


LOG_TOOLS: tuple[Tool[Any], ...] = (
    Tool("search_logs", "Search the service logs for a regular expression, newest window first.",
         SearchLogsInput, Risk.READ, search_logs),
    Tool("read_log", "Read lines of one log file.", ReadLogInput, Risk.READ, read_log),
)  # fmt: skip
