"""Repository git configuration that would run a program, found and switched off per call.

git has no switch that ignores a repository's `.git/config`, and some keys that run programs
are named by the repository itself (`filter.<driver>.clean`, `diff.<driver>.textconv`, chosen
by `.gitattributes`). Before a git runs, `git config --list --name-only` (which only reads
files) lists every key in force; each one that names a program gets a neutral value through
`GIT_CONFIG_COUNT` (the precedence of `git -c`). Together with the fixed keys of
`tools.shell.expand.GIT_NEVER_RUNS`, no configuration found in the workspace runs anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from pathlib import Path

# key pattern -> neutral value ("cat" passes content through unchanged; "" turns a hook off)
_PROGRAM_KEYS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), value)
    for pattern, value in (
        (r"filter\..+\.(clean|smudge)", "cat"),
        (r"filter\..+\.process", ""),
        (r"diff\..+\.textconv", "cat"),
        (r"pager\..+", "cat"),
        (r"gpg\..+\.program", "false"),
        (r"credential\.(.+\.)?helper", ""),
        (r"remote\..+\.(uploadpack|receivepack|proxy)", "false"),
        (r"core\.(gitproxy|askpass|sshcommand)", "false"),
        (r"(merge\..+\.driver|(diff|merge)tool\..+\.cmd|man\..+\.cmd)", "false"),
    )
)


def neutral_value(key: str) -> str | None:
    """The value that switches `key` off, or None when `key` runs no program."""
    for pattern, value in _PROGRAM_KEYS:
        if pattern.fullmatch(key):
            return value
    return None


TTL_S = 30.0
_cache: dict[Path, tuple[float, tuple[tuple[str, str], ...]]] = {}


class GitConfigUnknown(Exception):
    """git did not say in time which keys are in force: no git may run (fail closed)."""


def forget() -> None:
    """Drop the cached look-ups (an approved command or write may have changed a config)."""
    _cache.clear()


async def program_keys(cwd: Path, env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(key, neutral value) for every key in force in `cwd`'s repository that runs a program;
    empty outside a repository or without git. Cached for `TTL_S` seconds per directory
    (`forget` drops it); raises `GitConfigUnknown` when git cannot tell within 5 seconds.

    The look-up runs unconfined (a confined start costs ~20 ms): `git config` runs no program,
    and the key names it prints (an `include.path` may name any file) only choose overrides,
    they never reach the model or Slack.
    """
    place = cwd
    cached = _cache.get(place)
    if cached is not None and time.monotonic() - cached[0] < TTL_S:
        return cached[1]
    keys = await _look_up(cwd, env)
    _cache[place] = (time.monotonic(), keys)
    return keys


async def _look_up(cwd: Path, env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    argv = [shutil.which("git") or "/usr/bin/git", "config", "--list", "--name-only", "-z"]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    except OSError:
        return ()
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 5)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise GitConfigUnknown("git did not list its configuration within 5 s") from None
    # NUL-separated and decoded like os.environ (surrogateescape), so a driver named with any
    # byte (a no-break space, invalid UTF-8) reaches git's environment exactly as it wrote it
    keys = dict.fromkeys(k for k in output.decode("utf-8", "surrogateescape").split("\0") if k)
    found = ((key, neutral_value(key)) for key in keys)
    return tuple((key, value) for key, value in found if value is not None)
