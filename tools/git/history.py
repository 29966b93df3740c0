"""git_log and git_diff: read-only history of the workspace repository."""

from __future__ import annotations

import asyncio
import functools
import shutil
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError
from tools.confine.reap import TAG_VARIABLE, kill_tagged, new_tag
from tools.process import run_process
from tools.shell.executor import new_scratch
from tools.shell.expand import GIT_CONFINED, confined_env, git_config_env, git_safe_argv
from tools.shell.gitconfig import GitConfigUnknown, program_keys
from tools.workspace import relative_name, resolve_inside


# Repository configuration never runs a program: these keys are forced off for every call.
def git_argv(*args: str) -> list[str]:
    """git without a pager or external diff and text conversion (the configuration that runs
    programs is off through `confined_env`)."""
    return ["git", "--no-pager", "-c", "core.quotepath=off", *git_safe_argv(["git", *args])[1:]]


async def _git(ctx: ToolContext, *args: str) -> str:
    """Run git read-only: kernel-confined when a sandbox is active, always with HOME outside
    the workspace and system and global configuration off (`confined_env`)."""
    home = new_scratch(ctx.scratch_root, "git-")
    tag = new_tag()
    env = {**confined_env(home, ctx.workspace), TAG_VARIABLE: tag}
    argv = [shutil.which("git") or "/usr/bin/git", *git_argv(*args)[1:]]
    confinement = ctx.confinement
    wrap = functools.partial(confinement.launcher_argv, scratch=home) if confinement else None
    try:
        keys = await program_keys(ctx.workspace, env)
    except GitConfigUnknown as unknown:
        shutil.rmtree(home, ignore_errors=True)
        raise ToolError(f"git {args[0]} did not run: {unknown}") from None
    env.update(git_config_env((*GIT_CONFINED, *keys)))
    try:
        result = await run_process(
            wrap(argv) if wrap else argv, cwd=ctx.workspace, timeout_s=30,
            output_cap=ctx.output_cap, env=env,
        )  # fmt: skip
    finally:
        await asyncio.to_thread(kill_tagged, tag)  # a filter that detached is ended too
        shutil.rmtree(home, ignore_errors=True)
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
