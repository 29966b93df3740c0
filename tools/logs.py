"""Log tools: search_logs and read_log over the files and globs of OPSBOT_LOG_SOURCES."""

from __future__ import annotations

import asyncio
import glob as globlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError

_TIMESTAMP = re.compile(
    r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
)
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def log_files(ctx: ToolContext) -> list[Path]:
    """Every file the configured sources name, in a stable order."""
    files: set[Path] = set()
    for source in ctx.log_sources:
        pattern = source if Path(source).is_absolute() else str(ctx.workspace / source)
        files.update(Path(p).resolve() for p in globlib.glob(pattern, recursive=True))
    return sorted(p for p in files if p.is_file())


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


def _search_logs(ctx: ToolContext, args: SearchLogsInput) -> dict[str, Any]:
    pattern = _compile(args.query)
    files = log_files(ctx)
    if not files:
        raise ToolError("no log sources are configured or none exist (OPSBOT_LOG_SOURCES)")
    contents = {path: path.read_text(encoding="utf-8", errors="replace") for path in files}
    cutoff = None
    if args.since:
        times = [t for text in contents.values() for t in map(line_time, text.splitlines()) if t]
        cutoff = parse_since(args.since, max(times) if times else None)
    matches: list[dict[str, Any]] = []
    total = 0
    for path, text in contents.items():
        for number, line in enumerate(text.splitlines(), start=1):
            stamp = line_time(line)
            if cutoff and stamp and stamp < cutoff:
                continue
            if pattern.search(line):
                total += 1
                if len(matches) < args.limit:
                    matches.append({"file": path.name, "line": number, "text": line})
    return {"matches": matches, "total_matches": total, "files": [p.name for p in files]}


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


def _find_log(ctx: ToolContext, name: str) -> Path:
    for path in log_files(ctx):
        if name in (path.name, str(path)) or path.as_posix().endswith("/" + name.lstrip("/")):
            return path
    raise ToolError(f"{name!r} is not one of the configured log files")


def _compile(query: str) -> re.Pattern[str]:
    try:
        return re.compile(query)
    except re.error as exc:
        raise ToolError(f"invalid query: {exc}") from None


async def read_log(args: ReadLogInput, ctx: ToolContext) -> dict[str, Any]:
    """Return numbered lines of a log file, optionally filtered by regex and time window."""
    path = _find_log(ctx, args.path)
    lines = (await asyncio.to_thread(path.read_text, "utf-8", "replace")).splitlines()
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
        "file": path.name,
        "total_lines": len(lines),
        "lines": [f"{n}: {line}" for n, line in chosen],
        "more": len(numbered) > len(chosen),
    }


LOG_TOOLS: tuple[Tool[Any], ...] = (
    Tool("search_logs", "Search the service logs for a regular expression, newest window first.",
         SearchLogsInput, Risk.READ, search_logs),
    Tool("read_log", "Read lines of one log file.", ReadLogInput, Risk.READ, read_log),
)  # fmt: skip
