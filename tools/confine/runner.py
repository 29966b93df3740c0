"""Script mode of the launcher: runs a plain script's pipelines inside the sandbox it already
applied to itself, so a whole command costs one interpreter start, not one per program.

Each program is forked and exec'd with `os` calls only (children inherit Landlock, seccomp
and the limits); pipes join a pipeline; standard error of every program and standard output
of the last go where the launcher's own go. Standard library only.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs ~5 ms of the launcher's start: only for the checker
if TYPE_CHECKING:
    from typing import Any

_FLAGS = {"read": os.O_RDONLY, "write": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
          "append": os.O_WRONLY | os.O_CREAT | os.O_APPEND}  # fmt: skip


def apply_redirects(redirects: list[list[Any]]) -> None:
    """Open the redirection targets (inside the sandbox, so it checks them too)."""
    for fd, op, target in redirects:
        fds = [1, 2] if int(fd) == -1 else [int(fd)]
        if op == "dup":
            os.dup2(int(target), fds[0])
            continue
        opened = os.open(str(target), _FLAGS[str(op)] | os.O_CLOEXEC, 0o644)
        for each in fds:
            os.dup2(opened, each)
        os.close(opened)


def _child(
    argv: list[str], stdin: int, stdout: int, redirects: list[list[Any]], env: dict[str, str]
) -> None:
    try:
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        apply_redirects(redirects)
        os.execve(argv[0], argv, env)
    except OSError as error:
        os.write(2, f"opsbot-confine: {argv[0]}: {error.strerror}\n".encode())
    os._exit(127)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code  # killed by signal N: 128 + N, as shells say


def run_pipeline(commands: list[list[Any]], env: dict[str, str]) -> int:
    """Fork each command of one pipeline; the exit code of the last (shell semantics)."""
    null = os.open("/dev/null", os.O_RDONLY)
    stdin, pids = null, []
    for index, (argv, redirects) in enumerate(commands):
        last = index == len(commands) - 1
        read_end, write_end = (-1, 1) if last else os.pipe()
        pid = os.fork()
        if pid == 0:
            if not last:
                os.close(read_end)
            _child(argv, stdin, write_end, redirects, env)
        pids.append(pid)
        if stdin != null:
            os.close(stdin)
        if not last:
            os.close(write_end)
        stdin = read_end if not last else null
    os.close(null)
    codes = [_exit_code(os.waitpid(pid, 0)[1]) for pid in pids]
    return codes[-1]


def run_steps(steps: list[list[Any]], env: dict[str, str]) -> int:
    """Run the pipelines in order, each after the first by its connector (`;`, `&&`, `||`),
    every program with the environment `env`."""
    status = 0
    for connector, commands in steps:
        if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
            continue
        status = run_pipeline(commands, env)
    return status
