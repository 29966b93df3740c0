"""File tools: read_file, list_files, search_code (read) and write_file (write or critical);
edit_file (tools/edit.py) writes through the same functions.

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
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Assessment, Tool, ToolContext, ToolError
from tools.confine import secrets_scan
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

_GIT = "git runs programs named in its configuration, hooks and attributes (filters, diff drivers)"
_KUBE = "a kubeconfig runs exec credential plugins and chooses the cluster kubectl talks to"
_SHELL = "a shell runs it at login or start"
_CI = "CI runs it with the pipeline's credentials"
_CRON = "cron runs it on a schedule"
_PACKAGES = "package tools read it (scripts, indexes, credentials) on the next install or publish"
_PYTHON = "python or its tools run it without being asked (import at start, pytest, pip install)"
# Files that configure or run code later, on another command or another machine: a write to
# one of them is CRITICAL (no self-approval by default). Each pattern is matched, ignoring
# case, against every trailing part of the path ("a/.git/config" -> ".git/config", "config").
# Makefile: `make` runs its recipes on developers' and CI machines, and people run it without
# reading it. conftest.py/setup.py: pytest and pip run them implicitly (CI runs pytest on every
# push). Ordinary source files stay WRITE: they are what a fix changes and the diff is reviewed.
RUNS_CODE_LATER: tuple[tuple[str, str], ...] = (
    (".git", _GIT), (".git/*", _GIT), (".gitconfig", _GIT), (".gitmodules", _GIT),
    (".gitattributes", _GIT), (".pre-commit-config.yaml", _GIT),
    (".kube/*", _KUBE), ("kubeconfig*", _KUBE), ("*.kubeconfig", _KUBE),
    (".bashrc", _SHELL), (".bash_profile", _SHELL), (".bash_login", _SHELL),
    (".bash_logout", _SHELL), (".profile", _SHELL), (".zshrc", _SHELL), (".zshenv", _SHELL),
    (".zprofile", _SHELL), (".zlogin", _SHELL), (".envrc", "direnv runs it on entering the folder"),
    (".github/workflows/*", _CI), (".github/actions/*", _CI), (".gitlab-ci.yml", _CI),
    (".circleci/*", _CI), ("jenkinsfile", _CI), (".buildkite/*", _CI),
    ("crontab", _CRON), ("cron.d/*", _CRON),
    (".npmrc", _PACKAGES), (".yarnrc", _PACKAGES), (".yarnrc.yml", _PACKAGES),
    (".pypirc", _PACKAGES), ("pip.conf", _PACKAGES),
    (".ssh/*", "ssh runs its config's commands (ProxyCommand) and trusts its keys"),
    (".docker/*", "docker runs the credential helpers its config names"),
    ("makefile", "make runs its recipes"), ("gnumakefile", "make runs its recipes"),
    ("conftest.py", _PYTHON), ("setup.py", _PYTHON), ("sitecustomize.py", _PYTHON),
    ("usercustomize.py", _PYTHON), ("*.pth", _PYTHON),
    (".env", "it holds the credentials a service reads at start"),
    (".env.*", "it holds the credentials a service reads at start"),
)  # fmt: skip


def runs_code_later(parts: tuple[str, ...]) -> str | None:
    """Why a file at these path parts configures or runs code later, or None."""
    tails = ["/".join(parts[i:]).casefold() for i in range(len(parts))]
    for pattern, why in RUNS_CODE_LATER:
        if any(fnmatchcase(tail, pattern) for tail in tails):
            return why
    return None


def _decode(raw: bytes, shown: str) -> str:
    if b"\x00" in raw[:8192]:
        raise ToolError(f"{shown!r} looks binary")
    return raw.decode("utf-8", errors="replace")


def holds_credentials(parts: tuple[str, ...] | list[str]) -> bool:
    """A path through a name that holds credentials by convention (`.env*`, `.netrc`,
    Terraform state, ...: `secrets_scan.holds_credentials`): never read by a tool, as the
    kernel sandbox hides them from commands."""
    return any(secrets_scan.holds_credentials(part) for part in parts)


def _read_workspace_file(ctx: ToolContext, path: str) -> tuple[str, str]:
    """(workspace-relative name, text) of a regular file, read through the no-symlink walk."""
    parts = workspace_parts(ctx.workspace, path)
    if holds_credentials(parts):
        raise ToolError(f"{path!r} holds credentials (a .env-style file): it is never read")
    name = "/".join(parts) or "."
    with parent_dir(ctx.workspace, path) as (parent, final):
        if final == ".":
            raise ToolError(f"{path!r} is a directory, not a file")
        return name, _decode(read_file_at(parent, final, path, MAX_READ_BYTES), path)


class ReadFileInput(BaseModel):
    """Read a text file of the workspace, optionally a range of lines."""

    path: str = Field(description="Path relative to the workspace")
    start_line: int | None = Field(default=None, ge=1, description="First line (1-based)")
    end_line: int | None = Field(default=None, ge=1, description="Last line (inclusive)")


async def read_file(args: ReadFileInput, ctx: ToolContext) -> dict[str, Any]:
    """Return the numbered lines of a file; `ToolError` for links, non-files and escapes."""
    name, text = await asyncio.to_thread(_read_workspace_file, ctx, args.path)
    lines = text.splitlines()
    start = args.start_line or 1
    end = min(args.end_line or len(lines), len(lines))
    numbered = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(start, end + 1))
    return {"path": name, "total_lines": len(lines), "text": numbered}


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
        return _decode(read_file_at(dir_fd, name, name, MAX_READ_BYTES), name)
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
                for number, line in enumerate((text or "").splitlines(), start=1):
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


def current_content(ctx: ToolContext, path: str) -> tuple[str, str]:
    """(workspace-relative name, current text or "" when the file does not exist yet)."""
    parts = workspace_parts(ctx.workspace, path)
    if not parts:
        raise ToolError(f"{path!r} is a directory")
    name = "/".join(parts)
    if holds_credentials(parts):
        return name, ""  # its present credentials never reach a card or the model
    try:
        with parent_dir(ctx.workspace, path) as (parent, final):
            return name, _decode(read_file_at(parent, final, path, MAX_READ_BYTES), path)
    except MissingPath:  # a new file (its directories are made when it is written)
        return name, ""


def write_file_diff(args: WriteFileInput, ctx: ToolContext) -> str:
    """The unified diff this write would make: what the approver reviews."""
    name, before = current_content(ctx, args.path)
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        args.content.splitlines(keepends=True),
        fromfile=f"a/{name}" if before else "/dev/null",
        tofile=f"b/{name}",
    )
    note = "(a .env file: its current content is not shown)\n" if holds_credentials(
        PurePosixPath(name).parts) else ""  # fmt: skip
    return note + ("".join(diff) or f"(no change to {name})")


def assess_write(args: WriteFileInput, ctx: ToolContext) -> Assessment:
    """CRITICAL for a file that configures or runs code later (RUNS_CODE_LATER), else WRITE."""
    parts = workspace_parts(ctx.workspace, args.path)
    why = runs_code_later(parts)
    if why is None:
        return Assessment(risk=Risk.WRITE)
    return Assessment(risk=Risk.CRITICAL, reason=f"writes {'/'.join(parts)}: {why}")


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
    """Write the file atomically (through the no-symlink walk) and return the applied diff."""
    diff = write_file_diff(args, ctx)
    await asyncio.to_thread(write_text, ctx, args.path, args.content)
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
