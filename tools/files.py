"""File tools: read_file, list_files, search_code (read) and write_file (write)."""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError
from tools.workspace import relative_name, resolve_inside

SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache"}
MAX_READ_BYTES = 2_000_000


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise ToolError(f"{path.name!r} is not a file")
    if path.stat().st_size > MAX_READ_BYTES:
        raise ToolError(f"{path.name!r} is larger than {MAX_READ_BYTES} bytes")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ToolError(f"{path.name!r} looks binary")
    return raw.decode("utf-8", errors="replace")


def _walk_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        found.extend(Path(directory) / name for name in sorted(filenames))
    return found


class ReadFileInput(BaseModel):
    """Read a text file of the workspace, optionally a range of lines."""

    path: str = Field(description="Path relative to the workspace")
    start_line: int | None = Field(default=None, ge=1, description="First line (1-based)")
    end_line: int | None = Field(default=None, ge=1, description="Last line (inclusive)")


async def read_file(args: ReadFileInput, ctx: ToolContext) -> dict[str, Any]:
    """Return the numbered lines of a file."""
    path = resolve_inside(ctx.workspace, args.path)
    lines = (await asyncio.to_thread(_read_text, path)).splitlines()
    start = args.start_line or 1
    end = min(args.end_line or len(lines), len(lines))
    numbered = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(start, end + 1))
    return {"path": relative_name(ctx.workspace, path), "total_lines": len(lines), "text": numbered}


class ListFilesInput(BaseModel):
    """List a directory of the workspace."""

    path: str = Field(default=".", description="Directory relative to the workspace")


async def list_files(args: ListFilesInput, ctx: ToolContext) -> dict[str, Any]:
    """Return the entries of a directory; directories end with '/'."""
    path = resolve_inside(ctx.workspace, args.path)
    if not path.is_dir():
        raise ToolError(f"{args.path!r} is not a directory")
    entries = [
        entry.name + ("/" if entry.is_dir() else "")
        for entry in sorted(path.iterdir())
        if entry.name not in SKIPPED_DIRS
    ]
    return {"path": relative_name(ctx.workspace, path), "entries": entries}


class SearchCodeInput(BaseModel):
    """Search the workspace's files for a regular expression."""

    pattern: str = Field(description="Python regular expression")
    glob: str | None = Field(default=None, description="Only files matching this glob, e.g. *.py")
    limit: int = Field(default=50, ge=1, le=500)


def _search(root: Path, pattern: re.Pattern[str], glob: str | None, limit: int) -> list[str]:
    hits: list[str] = []
    for path in _walk_files(root):
        if glob and not path.match(glob):
            continue
        try:
            text = _read_text(path)
        except ToolError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                hits.append(f"{relative_name(root, path)}:{number}: {line.strip()}")
                if len(hits) >= limit:
                    return hits
    return hits


async def search_code(args: SearchCodeInput, ctx: ToolContext) -> dict[str, Any]:
    """Return `file:line: text` for every matching line, up to the limit."""
    try:
        pattern = re.compile(args.pattern)
    except re.error as exc:
        raise ToolError(f"invalid pattern: {exc}") from None
    hits = await asyncio.to_thread(_search, ctx.workspace, pattern, args.glob, args.limit)
    return {"matches": hits, "count": len(hits), "limited": len(hits) >= args.limit}


class WriteFileInput(BaseModel):
    """Replace (or create) a file of the workspace with new content."""

    path: str = Field(description="Path relative to the workspace")
    content: str = Field(description="The complete new content of the file")


def _current_content(ctx: ToolContext, path: str) -> tuple[Path, str]:
    target = resolve_inside(ctx.workspace, path, must_exist=False)
    if target.is_dir():
        raise ToolError(f"{path!r} is a directory")
    return target, _read_text(target) if target.exists() else ""


def write_file_diff(args: WriteFileInput, ctx: ToolContext) -> str:
    """The unified diff this write would make: what the approver reviews."""
    target, before = _current_content(ctx, args.path)
    name = relative_name(ctx.workspace, target)
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        args.content.splitlines(keepends=True),
        fromfile=f"a/{name}" if before else "/dev/null",
        tofile=f"b/{name}",
    )
    return "".join(diff) or f"(no change to {name})"


def _atomic_write(target: Path, content: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        if target.exists():
            os.chmod(temp, target.stat().st_mode & 0o7777)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


async def write_file(args: WriteFileInput, ctx: ToolContext) -> dict[str, Any]:
    """Write the file atomically and return the diff that was applied."""
    diff = write_file_diff(args, ctx)
    target, _ = _current_content(ctx, args.path)
    await asyncio.to_thread(_atomic_write, target, args.content)
    return {"path": relative_name(ctx.workspace, target), "diff": diff}


FILE_TOOLS: tuple[Tool[Any], ...] = (
    Tool("read_file", "Read a text file of the workspace with line numbers.", ReadFileInput,
         Risk.READ, read_file),
    Tool("list_files", "List the entries of a workspace directory.", ListFilesInput,
         Risk.READ, list_files),
    Tool("search_code", "Search workspace files for a regular expression.", SearchCodeInput,
         Risk.READ, search_code),
    Tool("write_file", "Replace a workspace file with new content (needs human approval).",
         WriteFileInput, Risk.WRITE, write_file, preview=write_file_diff),
)  # fmt: skip
