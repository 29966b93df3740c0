"""shell_execute: a plain, allow-listed command runs at once, kernel-confined and without a
shell; any other command runs only after a person approved its exact text."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Assessment, Tool, ToolContext, ToolError
from tools.confine import secrets_scan
from tools.policy import Decision, Verdict
from tools.process import ProcessResult, run_process
from tools.shell import gitconfig
from tools.shell.executor import ScriptRefused, new_scratch, run_script
from tools.shell.expand import GIT_NEVER_RUNS, confined_env, git_config_env
from tools.shell.gitconfig import GitConfigUnknown, program_keys
from tools.workspace import relative_name, resolve_inside

NO_SANDBOX = "no kernel sandbox is active here, so every command needs approval"


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


def _cwd(args: ShellInput, ctx: ToolContext) -> Path:
    return resolve_inside(ctx.workspace, args.cwd or ".")


def decide(args: ShellInput, ctx: ToolContext) -> Decision:
    """The policy's class of this command, from its working directory."""
    return ctx.classifier.classify(command_text(args.command), _cwd(args, ctx))


def shell_assessment(args: ShellInput, ctx: ToolContext) -> Assessment:
    """allow: runs confined at once; approve: critical, a person decides; deny: refused."""
    decision = decide(args, ctx)
    if decision.verdict is Verdict.DENY:
        return Assessment(
            risk=Risk.CRITICAL, denied=f"refused by the command policy: {decision.summary}"
        )
    if decision.verdict is Verdict.APPROVE:
        return Assessment(risk=Risk.CRITICAL, reason=decision.summary)
    if ctx.confinement is None:
        return Assessment(risk=Risk.CRITICAL, reason=NO_SANDBOX)
    return Assessment(risk=Risk.READ, reason="read-only command, run in the kernel sandbox")


def shell_preview(args: ShellInput, ctx: ToolContext) -> str:
    """The exact command and working directory, as the approver reviews them."""
    cwd = _cwd(args, ctx)
    return f"$ {command_text(args.command)}\n(in {relative_name(ctx.workspace, cwd)})"


async def _run_confined(args: ShellInput, ctx: ToolContext, cwd: Path) -> ProcessResult:
    decision = decide(args, ctx)
    if decision.verdict is Verdict.DENY:
        raise ToolError(f"refused by the command policy: {decision.summary}")
    if decision.plan is None or ctx.confinement is None:
        reason = decision.summary if decision.plan is None else NO_SANDBOX
        raise ToolError(f"not run: this command needs approval now ({reason})")
    classifier = ctx.classifier
    try:
        return await run_script(
            decision.plan, cwd=cwd, confinement=ctx.confinement, scratch_root=ctx.scratch_root,
            timeout_s=_timeout(args, ctx), output_cap=ctx.output_cap,
            recheck=classifier.plain_reasons, visible=classifier.may_list,
        )  # fmt: skip
    except ScriptRefused as refused:
        raise ToolError(f"stopped: the command no longer passes its checks ({refused})") from None


async def _run_approved(args: ShellInput, ctx: ToolContext, cwd: Path) -> ProcessResult:
    """Exactly the reviewed text, through a shell, unconfined, with a clean environment whose
    HOME is a private directory outside the workspace (so no workspace config is trusted)."""
    decision = decide(args, ctx)
    if decision.verdict is Verdict.DENY:  # the policy may have changed while it waited
        raise ToolError(f"refused by the command policy: {decision.summary}")
    shell = shutil.which("bash", path="/usr/bin:/bin") or "/bin/sh"
    home = new_scratch(ctx.scratch_root, "approved-")
    env = confined_env(home, cwd, ctx.kubeconfig)
    try:
        keys = await program_keys(cwd, env)
    except GitConfigUnknown as unknown:
        raise ToolError(f"not run: {unknown}") from None
    # an approved push may use ssh and credentials; no repository key runs a program
    env.update(git_config_env((*GIT_NEVER_RUNS, *keys)))
    env["PATH"] = os.environ.get("PATH", env["PATH"])
    try:
        return await run_process(
            [shell, "-c", command_text(args.command)], cwd=cwd, timeout_s=_timeout(args, ctx),
            output_cap=ctx.output_cap, env=env,
        )  # fmt: skip
    except FileNotFoundError:
        raise ToolError(f"{shell} is not installed") from None
    finally:
        shutil.rmtree(home, ignore_errors=True)
        secrets_scan.forget(ctx.workspace)  # it may have made a .env or a hard link
        gitconfig.forget()  # or changed a repository's configuration


def _timeout(args: ShellInput, ctx: ToolContext) -> float:
    return min(args.timeout_s or ctx.shell_timeout_s, ctx.shell_timeout_s)


async def shell_execute(args: ShellInput, ctx: ToolContext) -> dict[str, Any]:
    """Run the command and return its exit code and merged output."""
    cwd = _cwd(args, ctx)
    if not cwd.is_dir():
        raise ToolError(f"cwd {args.cwd!r} is not a directory")
    runner = _run_approved if ctx.approved else _run_confined
    result = await runner(args, ctx, cwd)
    return {
        "command": command_text(args.command),
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "output": result.output,
        "output_truncated": result.truncated,
        "duration_s": result.duration_s,
        "confined": not ctx.approved,
    }


SHELL_TOOL: Tool[ShellInput] = Tool(
    "shell_execute",
    "Run a command in the workspace. Plain read-only commands (ls, grep, cat, kubectl get, "
    "git log, ...; pipes, && and || allowed, no $( ), variables or subshells) run at once in "
    "a sandbox that cannot write files, reach the network or read outside the workspace and "
    "logs; others wait for a person's approval; destructive ones are refused.",
    ShellInput,
    Risk.CRITICAL,
    shell_execute,
    preview=shell_preview,
    assess_call=shell_assessment,
)

TOOLS: tuple[Tool[Any], ...] = (SHELL_TOOL,)
"""The shell toolset (declared here, not in the package's `__init__`, which the command policy
imports before `tools.base` exists)."""
