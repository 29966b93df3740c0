"""Running a child process: no shell of its own, timeout, group kill, capped output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from core import faults

DRAIN_S = 2.0  # seconds the output may go on after the process itself ended


@dataclass(frozen=True)
class ProcessResult:
    """What a finished (or killed) process produced."""

    exit_code: int | None
    output: str
    timed_out: bool
    truncated: bool
    duration_s: float


async def _read_capped(stream: asyncio.StreamReader, cap: int, kept: bytearray) -> bool:
    """Read to the end into `kept` (up to `cap` bytes); True when more was dropped."""
    truncated = False
    while chunk := await stream.read(65536):
        room = cap - len(kept)
        if room > 0:
            kept.extend(chunk[:room])
        truncated = truncated or len(chunk) > room
    return truncated


def kill_group(process: asyncio.subprocess.Process | subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's whole group (it was started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_process(
    argv: list[str], *, cwd: Path, timeout_s: float, output_cap: int, env: dict[str, str]
) -> ProcessResult:
    """Run `argv` (never through a shell); stdout and stderr are merged and capped."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    kept = bytearray()
    reader = asyncio.ensure_future(_read_capped(process.stdout, output_cap, kept))
    await asyncio.sleep(0)
    faults.point("during_shell")
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        timed_out = True
        kill_group(process)
        await process.wait()
    except asyncio.CancelledError:
        kill_group(process)
        raise
    # A process that left the group may hold the pipe open: the output ends soon anyway.
    done, _ = await asyncio.wait({reader}, timeout=DRAIN_S)
    truncated = reader.result() if done else True
    if not done:
        reader.cancel()
    return ProcessResult(
        exit_code=None if timed_out else process.returncode,
        output=kept.decode("utf-8", errors="replace"),
        timed_out=timed_out,
        truncated=truncated,
        duration_s=round(time.monotonic() - started, 3),
    )
