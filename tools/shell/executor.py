"""Runs a plain script itself, without `/bin/sh`: every process kernel-confined.

The pipelines and lists of a `Script` are wired with pipes here; each program starts through
the confinement launcher (Landlock + seccomp + limits), in its own process group that is
killed when its pipeline ends, so nothing it started keeps running. Standard error of every
process and standard output of the last are merged into one capped output.
Before each command runs, its words are expanded and checked again (`recheck`): a file that
became a symlink between the check and the run stops the script instead of running it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core import faults
from tools.confine import Confinement
from tools.confine.reap import TAG_VARIABLE, kill_tagged, new_tag
from tools.process import ProcessResult
from tools.shell.expand import (
    GIT_CONFINED,
    Visible,
    confined_env,
    expand_words,
    git_config_env,
    git_safe_argv,
    resolve_program,
)
from tools.shell.gitconfig import program_keys
from tools.shell.syntax import Pipeline, Script

Recheck = Callable[[Script, Path], list[str]]


def new_scratch(root: Path, prefix: str) -> Path:
    """A fresh private directory under `root` (created 0700): one command's HOME and TMPDIR."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


class ScriptRefused(Exception):
    """The script no longer passes its checks at run time; nothing further of it ran."""


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


def _kill_groups(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


class _Run:
    def __init__(
        self, confinement: Confinement, cwd: Path, scratch: Path, out_fd: int, visible: Visible
    ) -> None:
        self.visible = visible
        self.confinement = confinement
        self.cwd = cwd
        self.scratch = scratch
        self.out_fd = out_fd
        self.tag = new_tag()
        self.env = {**confined_env(scratch, cwd), TAG_VARIABLE: self.tag}
        self.live: list[asyncio.subprocess.Process] = []

    async def env_for(self, program: Path) -> dict[str, str]:
        """The environment of one process; a git also gets the repository's program-running
        keys switched off (`tools.shell.gitconfig`)."""
        if program.name != "git":
            return self.env
        wrap = functools.partial(self.confinement.launcher_argv, scratch=self.scratch)
        keys = await program_keys(self.cwd, self.env, wrap)
        return {**self.env, **git_config_env((*GIT_CONFINED, *keys))}

    async def pipeline(self, pipeline: Pipeline) -> int:
        processes: list[asyncio.subprocess.Process] = []
        stdin: int = asyncio.subprocess.DEVNULL
        try:
            for index, command in enumerate(pipeline.commands):
                argv = expand_words(command.words, self.cwd, self.env, self.visible)
                program = resolve_program(argv[0])
                if program is None:
                    raise ScriptRefused(f"{argv[0]} is not a program of this system")
                last = index == len(pipeline.commands) - 1
                read_end, write_end = (-1, self.out_fd) if last else os.pipe()
                redirects: list[list[object]] = [
                    [r.fd, r.op, r.target.expand(self.env)] for r in command.redirects
                ]
                argv = git_safe_argv([str(program), *argv[1:]])
                launch = self.confinement.launcher_argv(argv, self.scratch,
                                                        redirects)  # fmt: skip
                env = await self.env_for(program)
                try:
                    process = await asyncio.create_subprocess_exec(
                        *launch, stdin=stdin, stdout=write_end, stderr=self.out_fd,
                        cwd=self.cwd, env=env, start_new_session=True,
                    )  # fmt: skip
                finally:
                    if stdin != asyncio.subprocess.DEVNULL:
                        os.close(stdin)
                    if not last:
                        os.close(write_end)
                processes.append(process)
                self.live.append(process)
                stdin = read_end if not last else asyncio.subprocess.DEVNULL
            faults.point("during_shell")
            codes = [await process.wait() for process in processes]
        finally:
            if stdin not in (asyncio.subprocess.DEVNULL, -1):
                os.close(stdin)
            _kill_groups(processes)
        return codes[-1] if codes else 0


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

    Raises `ScriptRefused` (with what already ran discarded) when a re-check fails before a
    pipeline starts. A script past `timeout_s` seconds is killed and marked timed out.
    """
    started = time.monotonic()
    scratch = new_scratch(scratch_root, "cmd-")
    read_fd, write_fd = os.pipe()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    run = _Run(confinement, cwd, scratch, write_fd, visible)
    output = _Output(output_cap, lambda: _kill_groups(run.live))
    collected = asyncio.ensure_future(output.read(reader))
    status, timed_out = 0, False
    try:
        async with asyncio.timeout(timeout_s):
            for connector, pipeline in script.steps:
                if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
                    continue
                problems = recheck(Script(((";", pipeline),)), cwd)
                if problems:
                    raise ScriptRefused("; ".join(problems))
                status = await run.pipeline(pipeline)
    except TimeoutError:
        timed_out = True
    finally:
        _kill_groups(run.live)
        await asyncio.to_thread(kill_tagged, run.tag)  # also what left its group (setsid)
        os.close(write_fd)
        # a process that left its group may still hold the pipe: stop reading soon anyway
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collected, 2.0)
        transport.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return ProcessResult(
        exit_code=None if timed_out else status,
        output=output.kept.decode("utf-8", errors="replace"),
        timed_out=timed_out,
        truncated=output.truncated,
        duration_s=round(time.monotonic() - started, 3),
    )
