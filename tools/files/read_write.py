"""File tools: read_file, list_files, search_code (read) and write_file (write or critical);
edit_file (tools/files/edit.py) writes through the same functions.

Every path is walked from the workspace root one component at a time without following a
symlink (tools/workspace.py), and the file is read or written through that walk's
descriptors. Symlinks and files with more than one hard link are never read.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import stat
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Assessment, Tool, ToolContext, ToolError
from tools.confine import secrets_scan
from tools.files.text import (
    in_files_line_ends,
    lines_with_ends,
    not_utf8_note,
    text_for_reading,
    text_for_writing,
    text_lines,
)
from tools.runs_later import runs_code_later
from tools.shell import gitconfig
from tools.workspace import (
    HARD_LINK_NOTE,
    MissingPath,
    entry_stat,
    open_dir,
    parent_dir,
    read_file_at,
    workspace_parts,
    write_file_at,
)

SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache"}
MAX_READ_BYTES = 2_000_000
_NOT_FOLLOWED = "Symbolic links and files with more than one hard link are not read"


def holds_credentials(parts: tuple[str, ...] | list[str]) -> bool:
    """A path through a name that holds credentials by convention (`.env*`, `.netrc`,
    Terraform state, ...: `secrets_scan.holds_credentials`): never read by a tool, as the
    kernel sandbox hides them from commands."""
    return any(secrets_scan.holds_credentials(part) for part in parts)


def _read_workspace_file(ctx: ToolContext, path: str) -> tuple[str, bytes]:
    """(workspace-relative name, bytes) of a regular file, read through the no-symlink walk."""
    parts = workspace_parts(ctx.workspace, path)
    if holds_credentials(parts):
        raise ToolError(f"{path!r} holds credentials (a .env-style file): it is never read")
    name = "/".join(parts) or "."
    with parent_dir(ctx.workspace, path) as (parent, final):
        if final == ".":
            raise ToolError(f"{path!r} is a directory, not a file")
        return name, read_file_at(parent, final, path, MAX_READ_BYTES)


class ReadFileInput(BaseModel):
    """Read a text file of the workspace, optionally a range of lines."""

    path: str = Field(description="Path relative to the workspace")
    start_line: int | None = Field(default=None, ge=1, description="First line (1-based)")
    end_line: int | None = Field(default=None, ge=1, description="Last line (inclusive)")


async def read_file(args: ReadFileInput, ctx: ToolContext) -> dict[str, Any]:
    """Return the numbered lines of a file; `ToolError` for links, non-files and escapes."""
    name, raw = await asyncio.to_thread(_read_workspace_file, ctx, args.path)
    lines = text_lines(text_for_reading(raw, args.path))
    start = args.start_line or 1
    end = min(args.end_line or len(lines), len(lines))
    numbered = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(start, end + 1))
    read = {"path": name, "total_lines": len(lines), "text": numbered}
    return read if (note := not_utf8_note(raw)) is None else {**read, "note": note}


class ListFilesInput(BaseModel):
    """List a directory of the workspace."""

    path: str = Field(default=".", description="Directory relative to the workspace")


def _entries(ctx: ToolContext, path: str) -> list[str]:
    with open_dir(ctx.workspace, path) as fd, os.scandir(fd) as scan:
        found = [entry for entry in scan if entry.name not in SKIPPED_DIRS]
    marks = []
    for entry in sorted(found, key=lambda e: e.name):
        link = entry.is_symlink()
        suffix = "@" if link else "/" if entry.is_dir(follow_symlinks=False) else ""
        marks.append(entry.name + suffix)
    return marks


async def list_files(args: ListFilesInput, ctx: ToolContext) -> dict[str, Any]:
    """Return the entries of a directory: directories end with '/', symlinks with '@'."""
    entries = await asyncio.to_thread(_entries, ctx, args.path)
    name = "/".join(workspace_parts(ctx.workspace, args.path)) or "."
    return {"path": name, "entries": entries}


class SearchCodeInput(BaseModel):
    """Search the workspace's files for a regular expression."""

    pattern: str = Field(description="Python regular expression")
    glob: str | None = Field(default=None, description="Only files matching this glob, e.g. *.py")
    limit: int = Field(default=50, ge=1, le=500)


def _file_text(dir_fd: int, name: str) -> str | None:
    """The text of a regular, singly linked, small, non-binary file; None for anything else."""
    try:
        return text_for_reading(read_file_at(dir_fd, name, name, MAX_READ_BYTES), name)
    except (ToolError, OSError):
        return None


def _search(
    ctx: ToolContext, pattern: re.Pattern[str], glob: str | None, limit: int
) -> dict[str, Any]:
    hits: list[str] = []
    skipped = 0
    with open_dir(ctx.workspace, ".") as root_fd:
        # fwalk never descends into a symlinked directory and checks each directory it opens
        # is the one it listed; files are opened below with O_NOFOLLOW through its descriptors.
        for top, dirs, files, dir_fd in os.fwalk(".", dir_fd=root_fd):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                relative = os.path.normpath(os.path.join(top, name))
                if glob and not PurePosixPath(relative).match(glob):
                    continue
                if holds_credentials(PurePosixPath(relative).parts):
                    skipped += 1
                    continue
                status = entry_stat(dir_fd, name)
                if status is None or stat.S_ISDIR(status.st_mode):
                    continue
                if not stat.S_ISREG(status.st_mode) or status.st_nlink > 1:
                    skipped += 1  # a link (or FIFO, device): never read, so no match oracle
                    continue
                text = _file_text(dir_fd, name)
                for number, line in enumerate(text_lines(text or ""), start=1):
                    if pattern.search(line):
                        hits.append(f"{relative}:{number}: {line.strip()}")
                        if len(hits) >= limit:
                            return {"matches": hits, "skipped_links": skipped}
    return {"matches": hits, "skipped_links": skipped}


async def search_code(args: SearchCodeInput, ctx: ToolContext) -> dict[str, Any]:
    """Return `file:line: text` for every matching line, up to the limit.

    Symlinks, FIFOs and files with more than one hard link are skipped (counted, not read).
    """
    try:
        pattern = re.compile(args.pattern)
    except re.error as exc:
        raise ToolError(f"invalid pattern: {exc}") from None
    found = await asyncio.to_thread(_search, ctx, pattern, args.glob, args.limit)
    hits = found["matches"]
    return {"matches": hits, "count": len(hits), "limited": len(hits) >= args.limit,
            "skipped_links": found["skipped_links"]}  # fmt: skip


class WriteFileInput(BaseModel):
    """Replace (or create) a file of the workspace with new content."""

    path: str = Field(description="Path relative to the workspace")
    content: str = Field(description="The complete new content of the file")


def existing_text(ctx: ToolContext, path: str) -> tuple[str, str | None]:
    """(workspace-relative name, the file's exact text) before a write; the text is None for a
    file that does not exist yet or holds credentials (never read). `ToolError` for a file
    that is binary or not UTF-8 (`text_for_writing`): a write would change bytes nobody
    edited."""
    parts = workspace_parts(ctx.workspace, path)
    if not parts:
        raise ToolError(f"{path!r} is a directory")
    name = "/".join(parts)
    if holds_credentials(parts):
        return name, None  # its present credentials never reach a card or the model
    try:
        with parent_dir(ctx.workspace, path) as (parent, final):
            return name, text_for_writing(read_file_at(parent, final, path, MAX_READ_BYTES), path)
    except MissingPath:  # a new file (its directories are made when it is written)
        return name, None


def current_content(ctx: ToolContext, path: str) -> tuple[str, str]:
    """(workspace-relative name, current text or "" when the file does not exist yet); as
    `existing_text`."""
    name, text = existing_text(ctx, path)
    return name, text or ""


def _new_content(args: WriteFileInput, before: str) -> str:
    """The bytes-to-be of a write: the content in the file's own line ends (tools/files/text.py)."""
    return in_files_line_ends(before, args.content)


def write_file_diff(args: WriteFileInput, ctx: ToolContext) -> str:
    """The unified diff this write would make: what the approver reviews."""
    name, before = current_content(ctx, args.path)
    diff = difflib.unified_diff(
        lines_with_ends(before),
        lines_with_ends(_new_content(args, before)),
        fromfile=f"a/{name}" if before else "/dev/null",
        tofile=f"b/{name}",
    )
    note = "(a .env file: its current content is not shown)\n" if holds_credentials(
        PurePosixPath(name).parts) else ""  # fmt: skip
    return note + ("".join(diff) or f"(no change to {name})")


def write_risk(ctx: ToolContext, path: str) -> Assessment:
    """CRITICAL for a file that configures or runs code later (RUNS_CODE_LATER), else WRITE."""
    parts = workspace_parts(ctx.workspace, path)
    why = runs_code_later(parts)
    if why is None:
        return Assessment(risk=Risk.WRITE)
    return Assessment(risk=Risk.CRITICAL, reason=f"writes {'/'.join(parts)}: {why}")


def _checked_write(args: WriteFileInput, ctx: ToolContext) -> str:
    """The text the write puts in the file; `ToolError` for a file that is binary or not
    UTF-8, or that already holds exactly this text (a credentials file is never compared:
    the answer would tell its content)."""
    name, before = existing_text(ctx, args.path)
    after = _new_content(args, before or "")
    if before is not None and after == before:
        raise ToolError(f"{name} already holds exactly this content: nothing to write")
    return after


def assess_write(args: WriteFileInput, ctx: ToolContext) -> Assessment:
    """As `write_risk`; raises `ToolError` (an error result, before anyone is asked) as
    `_checked_write` does."""
    _checked_write(args, ctx)
    return write_risk(ctx, args.path)


def write_text(ctx: ToolContext, path: str, content: str) -> None:
    """Write a workspace file atomically through the no-symlink walk; `ToolError` when the
    path is a link or not a regular file."""
    with parent_dir(ctx.workspace, path, create=True) as (parent, final):
        existing = entry_stat(parent, final)
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(existing.st_mode) else "not a regular file"
            raise ToolError(f"{path!r} is {kind}; it is not written")
        write_file_at(parent, final, content.encode("utf-8"))


async def write_file(args: WriteFileInput, ctx: ToolContext) -> dict[str, Any]:
    """Write the file atomically (through the no-symlink walk, re-checked as it is now) and
    return the applied diff."""
    diff = write_file_diff(args, ctx)
    after = _checked_write(args, ctx)
    await asyncio.to_thread(write_text, ctx, args.path, after)
    secrets_scan.forget(ctx.workspace)  # it may be a new .env file the sandbox must hide
    gitconfig.forget()  # or a repository's configuration
    return {"path": "/".join(workspace_parts(ctx.workspace, args.path)), "diff": diff}


FILE_TOOLS: tuple[Tool[Any], ...] = (
    Tool("read_file", "Read a text file of the workspace with line numbers. "
         f"{_NOT_FOLLOWED} ({HARD_LINK_NOTE}).", ReadFileInput, Risk.READ, read_file),
    Tool("list_files", "List the entries of a workspace directory (symlinks end with '@' and "
         "are not followed).", ListFilesInput, Risk.READ, list_files),
    Tool("search_code", "Search workspace files for a regular expression. "
         f"{_NOT_FOLLOWED}: they are skipped and counted.", SearchCodeInput, Risk.READ,
         search_code),
    Tool("write_file", "Replace a workspace file with new content (needs human approval; "
         "critical for files that run code later, such as .git/, CI and shell startup files).",
         WriteFileInput, Risk.WRITE, write_file, preview=write_file_diff, assess_call=assess_write),
)  # fmt: skip
