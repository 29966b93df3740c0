"""shell_execute: run one command in the workspace, without a shell (critical: always approved)."""

from __future__ import annotations

import shlex
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Assessment, Tool, ToolContext, ToolError
from tools.policy import Decision, Verdict
from tools.process import minimal_env, run_process
from tools.workspace import relative_name, resolve_inside

SHELL = "/bin/sh"


class ShellInput(BaseModel):
    """Run a command in the workspace; pipelines and redirections are classified by the policy."""

    command: str | list[str] = Field(description="Command line, or an argv list")
    cwd: str | None = Field(default=None, description="Directory relative to the workspace")
    timeout_s: float | None = Field(default=None, gt=0, le=3600)


def command_text(command: str | list[str]) -> str:
    """The command as one string (an argv list is quoted)."""
    text = shlex.join(str(p) for p in command) if isinstance(command, list) else command
    if not text.strip():
        raise ToolError("empty command")
    return text


def decide(args: ShellInput, ctx: ToolContext) -> Decision:
    """The policy's class of this command."""
    resolve_inside(ctx.workspace, args.cwd or ".")
    return ctx.classifier.classify(command_text(args.command))


def shell_assessment(args: ShellInput, ctx: ToolContext) -> Assessment:
    """allow: runs freely; approve: critical, a person decides; deny: refused with the reason."""
    decision = decide(args, ctx)
    if decision.verdict is Verdict.DENY:
        return Assessment(
            risk=Risk.CRITICAL, denied=f"refused by the command policy: {decision.summary}"
        )
    if decision.verdict is Verdict.APPROVE:
        return Assessment(risk=Risk.CRITICAL, reason=decision.summary)
    return Assessment(risk=Risk.READ, reason="read-only command")


def command_argv(args: ShellInput, ctx: ToolContext) -> list[str]:
    """How it runs: argv directly, or through /bin/sh when the policy allowed its operators."""
    decision = decide(args, ctx)
    if decision.verdict is Verdict.DENY:
        raise ToolError(f"refused by the command policy: {decision.summary}")
    text = command_text(args.command)
    if decision.needs_shell:
        return [SHELL, "-c", text]
    if isinstance(args.command, list):
        return [str(p) for p in args.command]
    return shlex.split(text)


def shell_preview(args: ShellInput, ctx: ToolContext) -> str:
    """The exact command and working directory, as the approver reviews them."""
    cwd = resolve_inside(ctx.workspace, args.cwd or ".")
    return f"$ {command_text(args.command)}\n(in {relative_name(ctx.workspace, cwd)})"


async def shell_execute(args: ShellInput, ctx: ToolContext) -> dict[str, Any]:
    """Run the command and return its exit code and merged output."""
    argv = command_argv(args, ctx)
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
        "command": command_text(args.command),
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "output": result.output,
        "output_truncated": result.truncated,
        "duration_s": result.duration_s,
    }


SHELL_TOOL: Tool[ShellInput] = Tool(
    "shell_execute",
    "Run a command in the workspace. Read-only commands (ls, grep, kubectl get, git log, ...) "
    "run at once; others wait for a person's approval; destructive ones are refused.",
    ShellInput,
    Risk.CRITICAL,
    shell_execute,
    preview=shell_preview,
    assess_call=shell_assessment,
)
