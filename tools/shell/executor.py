"""Runs a plain script itself, without `/bin/sh`, kernel-confined.

The script's words are expanded here (variables, `~`, globs showing only names a confined
command could list) and checked once more right before the run (`recheck`): a file that
became a symlink between the check and the run stops the script instead of running it.
Then one confinement launcher in script mode (Landlock + seccomp + limits applied once)
forks every program of every pipeline with pipes between them; standard error of every
program and standard output of the last are merged into one capped output. The launcher's
process group is killed at the end, and so is every process carrying the command's tag
(`tools.confine.reap`), so nothing it started keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core import faults
from tools.confine import Confinement
from tools.confine.reap import TAG_VARIABLE, kill_tagged, new_tag
from tools.process import ProcessResult, kill_group
from tools.shell.expand import (
    GIT_CONFINED,
    GlobTooBroad,
    Visible,
    confined_env,
    expand_words,
    git_config_env,
    git_safe_argv,
    resolve_program,
)
from tools.shell.gitconfig import GitConfigUnknown, program_keys
from tools.shell.launchers import Launcher, keep_one_ready, take_launcher
from tools.shell.script import Script

Recheck = Callable[[Script, Path], list[str]]
Steps = list[tuple[str, list[tuple[list[str], list[list[object]]]]]]


def new_scratch(root: Path, prefix: str) -> Path:
    """A fresh private directory under `root` (created 0700): one command's HOME and TMPDIR."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


class ScriptRefused(Exception):
    """The script no longer passes its checks at run time; nothing of it ran."""


class _Output:
    """The merged output, kept up to a cap; past it the command is stopped (`on_overflow`),
    so `cat /dev/zero` or `yes` end at once instead of at their timeout."""

    def __init__(self, cap: int, on_overflow: Callable[[], None]) -> None:
        self.cap = cap
        self.kept = bytearray()
        self.truncated = False
        self.on_overflow = on_overflow

    async def read(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(65536):
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept.extend(chunk[:room])
            if len(chunk) > room and not self.truncated:
                self.truncated = True
                self.on_overflow()


def script_steps(script: Script, cwd: Path, env: dict[str, str], visible: Visible) -> Steps:
    """Every command with its words expanded and its program resolved to a system binary;
    raises `ScriptRefused` for a program that is not one."""
    steps: Steps = []
    for connector, pipeline in script.steps:
        commands: list[tuple[list[str], list[list[object]]]] = []
        for command in pipeline.commands:
            try:
                argv = expand_words(command.words, cwd, env, visible)
            except GlobTooBroad as broad:
                raise ScriptRefused(str(broad)) from None
            program = resolve_program(argv[0])
            if program is None:
                raise ScriptRefused(f"{argv[0]} is not a program of this system")
            redirects: list[list[object]] = [
                [r.fd, r.op, r.target.expand(env)] for r in command.redirects
            ]
            commands.append((git_safe_argv([str(program), *argv[1:]]), redirects))
        steps.append((connector, commands))
    return steps


async def _environment(
    steps: Steps, scratch: Path, cwd: Path, kubeconfig: str | None
) -> tuple[dict[str, str], str]:
    """The script's environment and its processes' tag; with a git in it, the repository's
    program-running keys switched off (`tools.shell.gitconfig`)."""
    tag = new_tag()
    env = {**confined_env(scratch, cwd, kubeconfig), TAG_VARIABLE: tag}
    if any(Path(argv[0]).name == "git" for _, commands in steps for argv, _ in commands):
        try:
            keys = await program_keys(cwd, env)
        except GitConfigUnknown as unknown:
            raise ScriptRefused(str(unknown)) from None
        env.update(git_config_env((*GIT_CONFINED, *keys)))
    return env, tag


async def run_script(
    script: Script,
    *,
    cwd: Path,
    confinement: Confinement,
    scratch_root: Path,
    timeout_s: float,
    output_cap: int,
    recheck: Recheck,
    visible: Visible,
) -> ProcessResult:
    """Run `script` confined in `cwd`; its output merged and capped at `output_cap` bytes.

    Raises `ScriptRefused` when the re-check fails (nothing ran). A script past `timeout_s`
    seconds is killed and marked timed out.
    """
    started = time.monotonic()
    problems = recheck(script, cwd)
    if problems:
        raise ScriptRefused("; ".join(problems))
    scratch = new_scratch(scratch_root, "cmd-")
    try:
        steps = script_steps(script, cwd, confined_env(scratch, cwd), visible)
        env, tag = await _environment(steps, scratch, cwd, confinement.kubeconfig)
        spec = confinement.script_spec(steps, scratch, cwd, env)
        return await _run(spec, tag, timeout_s, output_cap, started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _hand_over(launcher: Launcher, spec: bytes) -> None:
    """Give the waiting launcher its script; a launcher that died says why in its output."""
    assert launcher.popen.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        launcher.popen.stdin.write(spec)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        launcher.popen.stdin.close()


async def _run(
    spec: bytes, tag: str, timeout_s: float, output_cap: int, started: float
) -> ProcessResult:
    launcher = take_launcher()
    process, read_fd = launcher.popen, launcher.output_fd
    await asyncio.to_thread(_hand_over, launcher, spec)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    output = _Output(output_cap, lambda: kill_group(process))
    collected = asyncio.ensure_future(output.read(reader))
    faults.point("during_shell")
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.to_thread(process.wait), timeout_s)
    except TimeoutError:
        timed_out = True
    finally:
        kill_group(process)
        await asyncio.to_thread(process.wait)
        await asyncio.to_thread(kill_tagged, tag)  # also what left the group (setsid)
        # a process that escaped both may still hold the pipe: stop reading soon anyway
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(collected), 2.0)
        collected.cancel()
        transport.close()
        await asyncio.to_thread(keep_one_ready)  # for the next command, in the idle time
    return ProcessResult(
        exit_code=None if timed_out else process.returncode,
        output=output.kept.decode("utf-8", errors="replace"),
        timed_out=timed_out,
        truncated=output.truncated,
        duration_s=round(time.monotonic() - started, 3),
    )
