"""git_log and git_diff: read-only history of the workspace repository."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError
from tools.process import minimal_env, run_process
from tools.workspace import relative_name, resolve_inside


async def _git(ctx: ToolContext, *args: str) -> str:
    result = await run_process(
        ["git", "--no-pager", "-c", "core.quotepath=off", *args],
        cwd=ctx.workspace, timeout_s=30, output_cap=ctx.output_cap,
        env=minimal_env(ctx.workspace),
    )  # fmt: skip
    if result.exit_code != 0:
        raise ToolError(f"git {args[0]} failed: {result.output.strip()[:500]}")
    return result.output


def _ref(value: str) -> str:
    if value.startswith("-"):
        raise ToolError(f"{value!r} is not a git revision")
    return value


class GitLogInput(BaseModel):
    """Recent commits of the workspace repository."""

    path: str | None = Field(default=None, description="Only commits touching this path")
    limit: int = Field(default=20, ge=1, le=200)


async def git_log(args: GitLogInput, ctx: ToolContext) -> dict[str, Any]:
    """Return one line per commit: hash, date, author, subject."""
    extra: list[str] = []
    if args.path:
        extra = ["--", relative_name(ctx.workspace, resolve_inside(ctx.workspace, args.path))]
    text = await _git(ctx, "log", f"-n{args.limit}", "--format=%h %ad %an: %s", "--date=iso",
                      *extra)  # fmt: skip
    return {"commits": text.splitlines()}


class GitDiffInput(BaseModel):
    """Changes in the workspace repository."""

    ref: str | None = Field(default=None, description="Compare against this revision")
    path: str | None = Field(default=None)


async def git_diff(args: GitDiffInput, ctx: ToolContext) -> dict[str, Any]:
    """Return the unified diff of the working tree (or against `ref`)."""
    command = ["diff"] + ([_ref(args.ref)] if args.ref else [])
    if args.path:
        command += ["--", relative_name(ctx.workspace, resolve_inside(ctx.workspace, args.path))]
    return {"diff": await _git(ctx, *command)}


GIT_TOOLS: tuple[Tool[Any], ...] = (
    Tool("git_log", "Recent commits of the workspace repository.", GitLogInput, Risk.READ,
         git_log),
    Tool("git_diff", "Uncommitted changes (or changes since a revision).", GitDiffInput,
         Risk.READ, git_diff),
)  # fmt: skip
