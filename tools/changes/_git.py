"""One git call of the change layer: no configuration found in the repository runs a program,
no system or global configuration, HOME in a scratch directory, a token only in a header.

The fixed overrides are `tools.shell.expand.GIT_NEVER_RUNS` (hooks, fsmonitor, pager, editors,
gpg, `ext::`) plus what a commit, fetch or push could otherwise start (signing, submodules,
automatic gc); every key in force that names a program (filters, textconv, credential helpers,
`core.sshCommand`, ...) gets its neutral value from `tools.shell.gitconfig.program_keys`.
Unlike a confined git, these calls may reach the network: http(s), ssh, git and file remotes.
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tools.process import kill_group
from tools.shell.expand import GIT_NEVER_RUNS, confined_env, git_config_env, git_safe_argv
from tools.shell.gitconfig import GitConfigUnknown, program_keys

LOCAL_S = 30.0
NETWORK_S = 120.0
MAX_ERROR_CHARS = 400
CHANGE_OVERRIDES = (*GIT_NEVER_RUNS, ("credential.helper", ""), ("core.askPass", ""),
                    ("commit.gpgSign", "false"), ("tag.gpgSign", "false"),
                    ("push.gpgSign", "false"), ("gc.auto", "0"), ("maintenance.auto", "false"),
                    ("submodule.recurse", "false"), ("fetch.recurseSubmodules", "false"),
                    ("push.recurseSubmodules", "no"), ("core.quotepath", "off"),
                    ("advice.detachedHead", "false"))  # fmt: skip
# git's own ssh, never asking (no terminal anyway); a repository's core.sshCommand is ignored
SSH_COMMAND = "ssh -o BatchMode=yes"


class RepoError(Exception):
    """A git operation of the change layer failed; str() is one line without any secret."""


@dataclass(frozen=True)
class GitResult:
    """What one git call printed (stdout and stderr apart) and its exit code."""

    code: int
    out: str
    err: str


def auth_pairs(url: str, token: str | None) -> tuple[tuple[str, str], ...]:
    """The `http.<scheme://host[:port]/>.extraHeader` that carries `token` as HTTP Basic
    credentials `x-access-token:TOKEN` (GitHub's and GitLab's form for a token over git),
    for http(s) `url` only and scoped to its scheme, host and port (git's curl also drops it
    on a redirect to another host); empty without a token or for another kind of remote.
    Source: https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpextraHeader
    """
    match = re.match(r"(?i)(https?)://(?:[^/@]*@)?([^/?#]+)", url)
    if not token or match is None:
        return ()
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    scope = f"{match.group(1).lower()}://{match.group(2)}/"
    return ((f"http.{scope}.extraHeader", f"Authorization: Basic {basic}"),)


def secrets_of(token: str | None) -> tuple[str, ...]:
    """The texts that must never reach an error: the token and its header forms."""
    if not token:
        return ()
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return (token, basic)


def one_line(text: str, secrets: tuple[str, ...] = ()) -> str:
    """git's output as one line: hints and blank lines dropped, the rest joined with " | ",
    credentials in URLs and every secret replaced by "***", at most 400 characters."""
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith("hint:")]
    line = " | ".join(kept)
    line = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s]*@", r"\1", line)  # to the last @
    for secret in secrets:
        line = line.replace(secret, "***")
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 3] + "..."


async def git(
    cwd: Path,
    *args: str,
    extra: tuple[tuple[str, str], ...] = (),
    env: dict[str, str] | None = None,
    timeout_s: float = LOCAL_S,
) -> GitResult:
    """Run `git args` in `cwd` (which must exist) with the overrides above plus `extra`
    configuration pairs and `env` variables (author identity); never raises for an exit code.
    Raises RepoError when git cannot start, cannot tell its configuration or times out."""
    home = Path(tempfile.mkdtemp(prefix="opsbot-git-"))
    try:
        full = confined_env(home, cwd)
        full["GIT_SSH_COMMAND"] = SSH_COMMAND
        full["GIT_LITERAL_PATHSPECS"] = "1"  # a file named ":(exclude)x" or "*" is just a name
        try:
            keys = await program_keys(cwd, full)
        except GitConfigUnknown as unknown:
            raise RepoError(f"git {args[0]} did not run: {unknown}") from None
        full.update(git_config_env((*CHANGE_OVERRIDES, *keys, *extra)))
        full.update(env or {})
        argv = [shutil.which("git") or "/usr/bin/git", "--no-pager",
                *git_safe_argv(["git", *args])[1:]]  # fmt: skip
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=full, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )  # fmt: skip
        except OSError as error:
            raise RepoError(f"git {args[0]} did not start in {cwd}: {error.strerror}") from None
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout_s)
        except (TimeoutError, asyncio.CancelledError) as stopped:
            kill_group(process)
            await process.wait()
            if isinstance(stopped, asyncio.CancelledError):
                raise
            raise RepoError(f"git {args[0]} did not finish within {timeout_s:g} s") from None
        return GitResult(
            process.returncode or 0,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def git_ok(
    cwd: Path,
    *args: str,
    extra: tuple[tuple[str, str], ...] = (),
    env: dict[str, str] | None = None,
    timeout_s: float = LOCAL_S,
    secrets: tuple[str, ...] = (),
) -> str:
    """`git` whose non-zero exit raises RepoError("git <verb> failed: <its output, one
    line>"); returns its stdout."""
    result = await git(cwd, *args, extra=extra, env=env, timeout_s=timeout_s)
    if result.code != 0:
        detail = one_line(result.err or result.out, secrets) or f"exit code {result.code}"
        raise RepoError(f"git {args[0]} failed: {detail}")
    return result.out


def push_said(result: GitResult, secrets: tuple[str, ...]) -> str:
    """The refusal first ("[rejected] (fetch first)", from --porcelain's "!" line), then
    what the remote and git said; "To <url>", "Done" and the generic error line dropped."""
    said: list[str] = []
    for line in (result.err + "\n" + result.out).splitlines():
        if line.startswith("!\t"):
            said.insert(0, " ".join(line.split("\t")[2:]))
        elif not line.startswith(("To ", "error: failed to push some refs")) and line != "Done":
            said.append(line)
    return one_line("\n".join(said), secrets) or "no message from git"
