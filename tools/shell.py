"""shell_execute: run one command in the workspace, without a shell (critical: always approved)."""

from __future__ import annotations

import shlex
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError
from tools.process import minimal_env, run_process
from tools.workspace import relative_name, resolve_inside

SHELL_OPERATORS = ("|", "&", ";", "<", ">", "`", "$(", "\n")


class ShellInput(BaseModel):
    """Run one command (no pipes or redirections) in the workspace."""

    command: str | list[str] = Field(description="Command line, or an argv list")
    cwd: str | None = Field(default=None, description="Directory relative to the workspace")
    timeout_s: float | None = Field(default=None, gt=0, le=3600)


def command_argv(command: str | list[str]) -> list[str]:
    """Split a command into argv; shell operators are refused since no shell runs it."""
    if isinstance(command, list):
        argv = [str(part) for part in command]
    else:
        if any(op in command for op in SHELL_OPERATORS):
            raise ToolError(
                "shell operators (| & ; < > ` $( newline) are not supported: run one command"
            )
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ToolError(f"cannot parse command: {exc}") from None
    if not argv:
        raise ToolError("empty command")
    return argv


def shell_preview(args: ShellInput, ctx: ToolContext) -> str:
    """The exact command and working directory, as the approver reviews them."""
    cwd = resolve_inside(ctx.workspace, args.cwd or ".")
    return f"$ {shlex.join(command_argv(args.command))}\n(in {relative_name(ctx.workspace, cwd)})"


async def shell_execute(args: ShellInput, ctx: ToolContext) -> dict[str, Any]:
    """Run the command and return its exit code and merged output."""
    argv = command_argv(args.command)
    cwd = resolve_inside(ctx.workspace, args.cwd or ".")
    if not cwd.is_dir():
        raise ToolError(f"cwd {args.cwd!r} is not a directory")
    timeout = min(args.timeout_s or ctx.shell_timeout_s, ctx.shell_timeout_s)
    try:
        result = await run_process(
            argv, cwd=cwd, timeout_s=timeout, output_cap=ctx.output_cap,
            env=minimal_env(ctx.workspace),
        )  # fmt: skip
    except FileNotFoundError:
        raise ToolError(f"command not found: {argv[0]}") from None
    return {
        "command": shlex.join(argv),
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "output": result.output,
        "output_truncated": result.truncated,
        "duration_s": result.duration_s,
    }


SHELL_TOOL: Tool[ShellInput] = Tool(
    "shell_execute",
    "Run one command in the workspace (no shell: no pipes or redirections). Needs approval.",
    ShellInput,
    Risk.CRITICAL,
    shell_execute,
    preview=shell_preview,
)
