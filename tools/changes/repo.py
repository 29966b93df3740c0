"""The git side of changes as pull requests: one worktree and branch per Slack thread, made
from the workspace's `origin`, commits by the bot, and a push of the branch.

The operator's checkout (the workspace) is only read and fetched into: its HEAD, index, files
and branches stay as they are; a thread's work happens in `root/<branch, / as ->`. Every git
call runs through `tools.changes._git.git` (no hook, filter, fsmonitor or other program from
any configuration runs; see there). Errors are `RepoError`, one line, never with a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from tools.changes._git import (
    NETWORK_S,
    RepoError,
    auth_pairs,
    git,
    git_ok,
    one_line,
    push_said,
    secrets_of,
)
from tools.changes._lock import making_worktrees

__all__ = ["Remote", "RepoError", "branch_for", "commit_all", "commits_since",
           "default_branch", "diff_stat", "ensure_worktree", "git_dirs", "origin", "parse_remote",
           "push", "verify_worktree"]  # fmt: skip

BOT = ("opsbot", "opsbot@users.noreply.github.com")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HELPER = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")  # ext::, fd::: a transport helper
_SCP = re.compile(r"(?:[^@/:]+@)?(?P<host>[^/:@]+):(?P<path>.*)")
_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


@dataclass(frozen=True)
class Remote:
    """A repository's remote: `url` (credentials of an http(s) URL removed), `host` (lowercase
    host name without port; "" for a local path) and `path` ("owner/name", GitLab's
    "group/sub/name"; for a local path its last two components), without ".git"."""

    url: str
    host: str
    path: str


def _refuse(url: str, why: str) -> RepoError:
    shown = re.sub(r"(://)[^/\s]*@", r"\1", url)[:200]  # up to the last @: "p@ss" passwords
    return RepoError(f"the git remote {shown!r} is not usable: {why}")


def _repo_path(raw: str, url: str, *, local: bool) -> str:
    parts = [p for p in unquote(raw).split("/") if p]
    if local and parts and parts[-1] == ".git":  # a checkout's own .git directory
        parts.pop()
    if parts:
        parts[-1] = parts[-1].removesuffix(".git")
    parts = parts[-2:] if local else parts
    if len(parts) < 2 or any(p in ("", ".", "..", "~") for p in parts):
        raise _refuse(url, "its path names no owner/repository")
    return "/".join(parts)


def parse_remote(url: str) -> Remote:
    """The host and repository path of a git remote URL: http(s)://, ssh://, git://, scp-like
    `user@host:owner/name.git`, file:// or a local path (see git-clone(1) "GIT URLS",
    https://git-scm.com/docs/git-clone#_git_urls). Raises RepoError for an empty URL, a
    transport helper (`ext::`), another scheme, no host, or a path without owner and name."""
    text = url.strip()
    if not text or text.startswith("-") or any(c.isspace() or ord(c) < 32 for c in text):
        raise _refuse(url, "empty, an option, or with blanks or control characters")
    if _HELPER.match(text) and not _URL.match(text):
        raise _refuse(url, "a transport helper (`<helper>::`) is never used")
    if _URL.match(text):
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return Remote(text, "", _repo_path(parts.path, url, local=True))
        if scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git"):
            raise _refuse(url, f"the scheme {scheme}:// is not a git transport opsbot uses")
        try:
            host = (parts.hostname or "").lower()
            _ = parts.port  # a malformed port raises here
        except ValueError:
            raise _refuse(url, "its host or port is malformed") from None
        if not host:
            raise _refuse(url, "it names no host")
        path = _repo_path(parts.path, url, local=False)
        if scheme in ("http", "https"):
            netloc = parts.netloc.rsplit("@", 1)[-1]
            text = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
        return Remote(text, host, path)
    scp = _SCP.fullmatch(text)
    if scp is not None and "/" not in text.split(":", 1)[0]:
        return Remote(text, scp["host"].lower(), _repo_path(scp["path"], url, local=False))
    return Remote(text, "", _repo_path(text, url, local=True))


async def origin(workspace: Path) -> Remote | None:
    """The remote named `origin` of the repository at `workspace` (its URL after `insteadOf`);
    None when `workspace` is not a repository or has no origin. RepoError: unusable URL."""
    if not await asyncio.to_thread(workspace.is_dir):
        return None
    result = await git(workspace, "remote", "get-url", "origin")
    return parse_remote(result.out.strip()) if result.code == 0 else None


def branch_for(thread_key: str) -> str:
    """The branch of a Slack thread "team:channel:thread_ts": "opsbot/<ts with . as ->-<first
    6 hex of sha256(team:channel)>", valid for git-check-ref-format(1). ValueError when the key
    has no "scope:ts" form."""
    scope, _, stamp = thread_key.rpartition(":")
    stamp = re.sub(r"[^0-9A-Za-z]+", "-", stamp).strip("-")[:40]
    if not scope or not stamp:
        raise ValueError(f"{thread_key!r} is not a thread key (team:channel:thread_ts)")
    return f"opsbot/{stamp}-{hashlib.sha256(scope.encode()).hexdigest()[:6]}"


async def _auth(cwd: Path, token: str | None) -> tuple[tuple[str, str], ...]:
    """The token header for origin's fetch and push URLs (both, when they differ)."""
    if not token:
        return ()
    urls = {(await git(cwd, "remote", "get-url", *flag, "origin")).out.strip()
            for flag in ((), ("--push",))}  # fmt: skip
    return tuple(dict.fromkeys(pair for url in sorted(urls) for pair in auth_pairs(url, token)))


async def _ls_remote(cwd: Path, token: str | None, *refs: str) -> tuple[str | None, dict[str, str]]:
    """(origin's default branch or None, {ref: sha}) from `git ls-remote --symref`."""
    extra = await _auth(cwd, token)
    result = await git(cwd, "ls-remote", "--symref", "origin", *refs, extra=extra,
                       timeout_s=NETWORK_S)  # fmt: skip
    if result.code != 0:
        raise RepoError(f"could not read origin's branches: {_one(result.err, token)}")
    default, heads = None, {}
    for line in result.out.splitlines():
        left, _, name = line.partition("\t")
        if left.startswith("ref: refs/heads/") and name == "HEAD":
            default = left.removeprefix("ref: refs/heads/")
        elif name:
            heads[name] = left
    return default, heads


def _one(text: str, token: str | None) -> str:
    return one_line(text, secrets_of(token)) or "no message from git"


async def default_branch(workspace: Path, token: str | None = None) -> str:
    """The branch origin's HEAD points to ("main", "trunk", ...), asked of the remote itself.
    RepoError when origin is unreachable or has no HEAD (an empty repository)."""
    default, _ = await _ls_remote(workspace, token, "HEAD")
    if default is None:
        raise RepoError("origin has no default branch (an empty repository?)")
    return default


def worktree_path(root: Path, branch: str) -> Path:
    """Where `branch`'s worktree lives: root/<branch with "/" as "-">."""
    return root / branch.replace("/", "-")


def _has_git_file(path: Path) -> bool:
    return path.is_dir() and (path / ".git").is_file()


def _same(*pairs: tuple[str | Path, str | Path]) -> bool:
    return all(Path(a).resolve() == Path(b).resolve() for a, b in pairs)


def _clear(path: Path) -> None:
    """Remove what a crash left at `path` (a file, a link or a directory)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


async def _usable(workspace: Path, path: Path, branch: str) -> bool:
    """Whether `path` is a working worktree of `workspace`'s repository on `branch`."""
    if not await asyncio.to_thread(_has_git_file, path):
        return False
    shape = ("rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir")
    mine = await git(path, *shape, "--symbolic-full-name", "HEAD")
    theirs = await git(workspace, *shape[:2], "--git-common-dir")
    lines = mine.out.splitlines()
    if mine.code != 0 or theirs.code != 0 or len(lines) != 3:
        return False
    pairs = ((lines[0], path), (lines[1], theirs.out.strip()))
    return lines[2] == f"refs/heads/{branch}" and await asyncio.to_thread(_same, *pairs)


def _admin_dirs_of(common: Path, path: Path, branch: str) -> list[Path]:
    """The `<common>/worktrees/<id>` entries of `path` (their `gitdir` file names `path`/.git),
    and the stale ones of `branch` (on it, their directory gone: an earlier worktree root)."""
    wanted = (path / ".git").resolve()
    found = []
    for admin in sorted((common / "worktrees").glob("*/gitdir")):
        named = Path(admin.read_text(encoding="utf-8", errors="replace").strip())
        named = named if named.is_absolute() else admin.parent / named  # worktree.useRelativePaths
        head = admin.parent / "HEAD"
        on_branch = head.is_file() and head.read_text(errors="replace").strip() == (
            f"ref: refs/heads/{branch}"
        )
        if named.resolve() == wanted or (on_branch and not named.exists()):
            found.append(admin.parent)
    return found


async def git_dirs(workspace: Path) -> tuple[Path, Path]:
    """(the top of the working tree, the common git directory) of the repository holding
    `workspace`, absolute: a subdirectory, a linked worktree or a `--separate-git-dir` clone
    has no `.git` directory of its own. RepoError when it is no repository."""
    said = await git_ok(workspace, "rev-parse", "--path-format=absolute", "--show-toplevel",
                        "--git-common-dir")  # fmt: skip
    top, _, common = said.strip().partition("\n")
    return Path(top), Path(common)


async def _forget(common: Path, path: Path, branch: str) -> None:
    """Unregister the worktree at `path` and stale worktrees of `branch` (what `git worktree
    prune` does for them); the operator's other worktrees stay registered, even those whose
    directory is not there now (a drive not mounted). Source: gitrepository-layout(5),
    "worktrees/<id>/gitdir"."""
    for admin in await asyncio.to_thread(_admin_dirs_of, common, path, branch):
        await asyncio.to_thread(shutil.rmtree, admin)


async def verify_worktree(workspace: Path, path: Path, branch: str) -> None:
    """Raise RepoError unless `path` still is `workspace`'s worktree on `branch`: a written
    `.git` file (or a `.git` directory put in its place) would point git, and the bot's next
    commit, at another repository, such as the operator's checkout."""
    if not await _usable(workspace, path, branch):
        raise RepoError(
            f"the worktree of {branch} is no longer its own git worktree (its .git "
            "was changed); nothing is committed, it is made again on the next call"
        )


async def ensure_worktree(
    workspace: Path, root: Path, branch: str, token: str | None = None
) -> Path:
    """The worktree of `branch` at root/<branch with / as ->, made if needed: after a fetch
    of origin it starts from origin/<branch> when the remote has that branch (a restart or
    another process continues the pushed work), else from origin/<default branch>; a local
    branch with commits not yet pushed is kept. A working one is returned untouched (no
    fetch); a half-made one (directory gone, stale .git file) is removed, pruned and made
    again. RepoError: invalid branch name, origin unreachable, git refused."""
    path = worktree_path(root, branch)
    await git_ok(workspace, "check-ref-format", f"refs/heads/{branch}")
    if await _usable(workspace, path, branch):
        return path
    _, common = await git_dirs(workspace)
    async with making_worktrees(common):  # threads starting together: one at a time
        if not await _usable(workspace, path, branch):
            await _make(workspace, common, path, branch, token)
    return path


async def _make(workspace: Path, common: Path, path: Path, branch: str, token: str | None) -> None:
    """Make `branch`'s worktree at `path` (see ensure_worktree), holding the worktree lock."""
    await asyncio.to_thread(_clear, path)
    await _forget(common, path, branch)
    root = path.parent
    remote_ref = f"refs/heads/{branch}"
    default, heads = await _ls_remote(workspace, token, "HEAD", remote_ref)
    if default is None:
        raise RepoError("origin has no default branch (an empty repository?)")
    refspecs = [f"+refs/heads/{default}:refs/remotes/origin/{default}"]
    if remote_ref in heads:
        refspecs.append(f"+{remote_ref}:refs/remotes/origin/{branch}")
    await git_ok(workspace, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "origin",
                 *refspecs, extra=await _auth(workspace, token), timeout_s=NETWORK_S,
                 secrets=secrets_of(token))  # fmt: skip
    start = f"refs/remotes/origin/{branch if remote_ref in heads else default}"
    try:
        await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    except OSError as error:
        raise RepoError(f"the worktrees' directory {root} cannot be made: {error.strerror}") \
            from None  # fmt: skip
    local = await git(workspace, "rev-parse", "--verify", "--quiet", remote_ref)
    behind = await git(workspace, "merge-base", "--is-ancestor", remote_ref, start)
    if local.code == 0 and (remote_ref not in heads or behind.code != 0):
        args = ["worktree", "add", "--quiet", str(path), branch]  # unpushed work stays
    else:
        args = ["worktree", "add", "--quiet", "--no-track", "-B", branch, str(path), start]
    await git_ok(workspace, *args)


async def commit_all(
    worktree: Path,
    subject: str,
    trailers: list[tuple[str, str]],
    author: tuple[str, str] = BOT,
    paths: list[str] | None = None,
) -> str | None:
    """Stage `paths` (relative to `worktree`; None: everything, `git add -A`), and commit
    what is staged as `author` (name, email;
    author and committer), message = `subject` (one line), a blank line, then "Key: value"
    trailer lines (git-interpret-trailers(1)). Returns the new commit's sha, None when nothing
    was staged. ValueError: empty subject, a key not of letters, digits and "-", or an author
    with <, > or a newline. RepoError: git refused."""
    title = " ".join(subject.split())
    if not title or any(not _TRAILER_KEY.fullmatch(key) for key, _ in trailers):
        raise ValueError(f"a commit needs a subject and trailer keys like Approved-by: {title!r}")
    if any(c in "".join(author) for c in "<>\n\0") or not all(author):
        raise ValueError(f"{author!r} is not a commit author (name, email)")
    await git_ok(worktree, "add", "-A", "--", *(paths or []))
    staged = await git(worktree, "diff", "--cached", "--quiet")
    if staged.code == 0:
        return None
    if staged.code != 1:
        raise RepoError(f"git diff failed: {_one(staged.err, None)}")
    lines = [f"{key}: {' '.join(value.split())}" for key, value in trailers]
    message = title + ("\n\n" + "\n".join(lines) if lines else "")
    name, email = author
    identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}  # fmt: skip
    await git_ok(worktree, "commit", "--quiet", "--no-verify", "-m", message, env=identity)
    return (await git_ok(worktree, "rev-parse", "HEAD")).strip()


async def push(worktree: Path, branch: str, token: str | None = None) -> bool:
    """Push the worktree's HEAD to refs/heads/<branch> on origin, never forced. False (nothing
    sent) when origin's branch already is HEAD, True when it pushed; either way
    refs/remotes/origin/<branch> is HEAD afterwards. `token` goes only in an
    HTTP header of http(s) remotes (see `_git.auth_pairs`). RepoError (one line, the remote's
    own message, no token): origin unreachable, authentication failed, rejected (not a fast
    forward, a protected branch, a server hook)."""
    await git_ok(worktree, "check-ref-format", f"refs/heads/{branch}")
    head = (await git_ok(worktree, "rev-parse", "HEAD")).strip()
    _, heads = await _ls_remote(worktree, token, f"refs/heads/{branch}")
    tracking = ("update-ref", f"refs/remotes/origin/{branch}", head)  # a single-branch clone too
    if heads.get(f"refs/heads/{branch}") == head:
        await git_ok(worktree, *tracking)
        return False
    result = await git(worktree, "push", "--porcelain", "--no-verify", "origin",
                       f"HEAD:refs/heads/{branch}", extra=await _auth(worktree, token),
                       timeout_s=NETWORK_S)  # fmt: skip
    if result.code != 0:
        said = push_said(result, secrets_of(token))
        raise RepoError(f"push of {branch} to origin failed: {said}")
    await git_ok(worktree, *tracking)
    return True


def _base(base: str) -> str:
    if not base or base.startswith("-") or any(c.isspace() for c in base):
        raise RepoError(f"{base!r} is not a git revision")
    return base


async def commits_since(worktree: Path, base: str) -> list[tuple[str, str]]:
    """(full sha, subject) of each commit on HEAD not on `base` (a revision such as
    refs/remotes/origin/main), the oldest first. RepoError when `base` does not exist."""
    out = await git_ok(worktree, "log", "--reverse", "--format=%H%x1f%s", f"{_base(base)}..HEAD",
                       "--")  # fmt: skip
    return [(sha, subject) for sha, _, subject in (ln.partition("\x1f") for ln in out.splitlines())]


async def diff_stat(worktree: Path, base: str) -> str:
    """`git diff --stat` of HEAD against its merge base with `base` (what a pull request
    shows), e.g. " app.py | 2 +-\\n 1 file changed, ..."; "" when nothing differs."""
    return (await git_ok(worktree, "diff", "--stat", f"{_base(base)}...HEAD", "--")).rstrip()
