"""The git layer of changes as pull requests (tools/changes/repo.py) against real git: a bare
remote made with `git init --bare`, the operator's checkout cloned from it, per-thread
worktrees next to it, and a real HTTP server on 127.0.0.1 for a remote that refuses a token."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools.changes import repo
from tools.changes.repo import Remote, RepoError

KEY = "T0SANDBOX:C0INC:1733059200.123456"
TOKEN = "ghp_SeCrEt0123456789abcdefTOKEN"
BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def plain_env(home: Path) -> dict[str, str]:
    """A test's own git: no system or global configuration, a fixed identity."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_AUTHOR_NAME": "Operator", "GIT_AUTHOR_EMAIL": "op@example.com",
            "GIT_COMMITTER_NAME": "Operator", "GIT_COMMITTER_EMAIL": "op@example.com"}  # fmt: skip


Git = Callable[..., str]


@pytest.fixture
def sh(tmp_path: Path) -> Git:
    """`sh(cwd, *args)`: the test's plain git, its stdout stripped; raises on failure."""
    home = tmp_path / "home"
    home.mkdir()

    def run(cwd: Path, *args: str, check: bool = True, input: str | None = None) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=plain_env(home), text=True,
                              input=input, capture_output=True, timeout=60)  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"git {args}: {done.stderr}")
        return done.stdout.strip()

    return run


def make_remote(tmp_path: Path, sh: Git, default: str = "main", name: str = "shop") -> Path:
    """A bare remote acme/<name>.git on branch `default` with one commit (README, app.py)."""
    bare = tmp_path / "remote" / "acme" / f"{name}.git"
    bare.mkdir(parents=True)
    sh(bare, "init", "-q", "--bare", "-b", default)
    seed = tmp_path / f"seed-{name}"
    sh(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "README.md").write_text("shop\n")
    (seed / "app.py").write_text("print('v1')\n")
    sh(seed, "add", "-A")
    sh(seed, "commit", "-q", "-m", "first")
    sh(seed, "push", "-q", "origin", f"HEAD:refs/heads/{default}")
    return bare


def clone(tmp_path: Path, sh: Git, bare: Path, name: str = "checkout") -> Path:
    target = tmp_path / name
    sh(tmp_path, "clone", "-q", str(bare), str(target))
    return target


def snapshot(sh: Git, checkout: Path) -> dict[str, str]:
    """What the operator sees of their checkout: HEAD, status, index, files, local branches
    (other than opsbot's), the dirty file's text."""
    branches = sh(checkout, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads")
    return {
        "head": sh(checkout, "rev-parse", "HEAD"),
        "symbolic": sh(checkout, "symbolic-ref", "HEAD"),
        "status": sh(checkout, "status", "--porcelain=v1", "--untracked-files=all"),
        "index": sh(checkout, "ls-files", "--stage"),
        "staged": sh(checkout, "diff", "--cached"),
        "branches": "\n".join(b for b in branches.splitlines() if "refs/heads/opsbot/" not in b),
        "dirty": (checkout / "app.py").read_text(),
    }


# --- parse_remote, branch_for -----------------------------------------------------------------

GOOD = [
    ("https://github.com/acme/shop.git", "github.com", "acme/shop"),
    ("https://github.com/acme/shop", "github.com", "acme/shop"),
    ("git@github.com:acme/shop.git", "github.com", "acme/shop"),
    ("ssh://git@host:2222/group/sub/proj.git", "host", "group/sub/proj"),
    ("ssh://git@GitHub.com/acme/shop.git", "github.com", "acme/shop"),
    ("http://127.0.0.1:8123/acme/shop", "127.0.0.1", "acme/shop"),
    ("https://gitlab.example.com/group/sub/proj.git", "gitlab.example.com", "group/sub/proj"),
    ("git://example.org/acme/shop.git", "example.org", "acme/shop"),
    ("gitlab.example.com:group/sub/proj.git", "gitlab.example.com", "group/sub/proj"),
    ("/tmp/x/acme/shop.git", "", "acme/shop"),
    ("file:///tmp/x/acme/shop.git", "", "acme/shop"),
    ("/srv/checkouts/acme/shop/.git", "", "acme/shop"),
    ("../remote/acme/shop.git/", "", "acme/shop"),
]


@pytest.mark.parametrize(("url", "host", "path"), GOOD)
def test_parse_remote_reads_host_and_path(url: str, host: str, path: str) -> None:
    remote = repo.parse_remote(url)
    assert (remote.host, remote.path) == (host, path)
    assert remote.url == url


@pytest.mark.parametrize(
    "url",
    [
        f"https://x-access-token:{TOKEN}@github.com/acme/shop.git",
        f"http://{TOKEN}@127.0.0.1:8123/acme/shop",
    ],
)
def test_parse_remote_drops_credentials_of_a_url(url: str) -> None:
    remote = repo.parse_remote(url)
    assert TOKEN not in remote.url
    assert remote.path == "acme/shop"
    assert remote.url.endswith("/acme/shop.git") or remote.url.endswith("/acme/shop")


BAD = ["", "   ", "ext::sh -c touch% /tmp/pwned", "ext::git-upload-pack%S", "fd::3", "https://github.com/acme",
       "https:///acme/shop", "ftp://example.org/acme/shop.git", "git@github.com:", "shop.git",
       "-uhelp", "https://github.com/acme/shop\nx", "https://host:notaport/acme/shop",
       "https://github.com/acme/../shop", f"https://u:{TOKEN}@github.com/acme"]  # fmt: skip


@pytest.mark.parametrize("url", BAD)
def test_parse_remote_refuses_unusable_urls(url: str) -> None:
    with pytest.raises(RepoError) as refused:
        repo.parse_remote(url)
    text = str(refused.value)
    assert "\n" not in text
    assert "not usable" in text
    assert TOKEN not in text


def test_branch_for_names_a_thread(sh: Git, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"T0SANDBOX:C0INC").hexdigest()[:6]
    assert repo.branch_for(KEY) == f"opsbot/1733059200-123456-{digest}"
    assert repo.branch_for("T0SANDBOX:C0OTHER:1733059200.123456") != repo.branch_for(KEY)
    odd = ["T1:C2:1733059200.000001", "T:C:..lock", "T:C:a b@{c}~^?*[\\1", "T:C:-1.2-"]
    for key in [KEY, *odd]:
        sh(tmp_path, "check-ref-format", f"refs/heads/{repo.branch_for(key)}")
    for bad in ["nokey", ":1733059200.1", "T:C:", "T:C:..."]:
        with pytest.raises(ValueError, match="not a thread key"):
            repo.branch_for(bad)


# --- worktrees ----------------------------------------------------------------------------


@pytest.mark.parametrize("default", ["main", "trunk"])
async def test_worktree_starts_from_the_default_branch_and_leaves_the_checkout(
    tmp_path: Path, sh: Git, default: str
) -> None:
    bare = make_remote(tmp_path, sh, default)
    checkout = clone(tmp_path, sh, bare)
    sh(checkout, "switch", "-q", "-c", "local-work")  # the operator is elsewhere, ahead
    (checkout / "notes.txt").write_text("mine\n")
    sh(checkout, "add", "notes.txt")
    sh(checkout, "commit", "-q", "-m", "operator's own commit")
    (checkout / "app.py").write_text("print('half-edited by the operator')\n")
    (checkout / "staged.txt").write_text("staged\n")
    sh(checkout, "add", "staged.txt")
    (checkout / "untracked.txt").write_text("scratch\n")
    before = snapshot(sh, checkout)

    assert await repo.default_branch(checkout) == default
    assert await repo.origin(checkout) == Remote(str(bare), "", "acme/shop")
    branch = repo.branch_for(KEY)
    worktree = await repo.ensure_worktree(checkout, tmp_path / "worktrees", branch)

    assert worktree == tmp_path / "worktrees" / branch.replace("/", "-")
    assert sh(worktree, "rev-parse", "HEAD") == sh(bare, "rev-parse", default)
    assert sh(worktree, "symbolic-ref", "HEAD") == f"refs/heads/{branch}"
    assert (worktree / "app.py").read_text() == "print('v1')\n"
    assert not (worktree / "notes.txt").exists()
    assert not (worktree / "staged.txt").exists()
    assert snapshot(sh, checkout) == before


async def test_origin_is_none_outside_a_repository_or_without_origin(
    tmp_path: Path, sh: Git
) -> None:
    assert await repo.origin(tmp_path / "missing") is None
    (tmp_path / "plain").mkdir()
    assert await repo.origin(tmp_path / "plain") is None
    sh(tmp_path, "init", "-q", "lonely")
    assert await repo.origin(tmp_path / "lonely") is None


async def test_ensure_worktree_twice_returns_it_untouched(tmp_path: Path, sh: Git) -> None:
    bare = make_remote(tmp_path, sh)
    checkout = clone(tmp_path, sh, bare)
    branch = repo.branch_for(KEY)
    first = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    (first / "app.py").write_text("print('being edited')\n")
    shutil.move(bare, tmp_path / "gone.git")  # a second call needs no remote at all

    second = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    assert second == first
    assert (first / "app.py").read_text() == "print('being edited')\n"
    with pytest.raises(RepoError, match="could not read origin"):
        await repo.default_branch(checkout)


@pytest.mark.parametrize("crash", ["directory deleted", "stale .git file", "empty directory"])
async def test_half_made_worktree_is_made_again(tmp_path: Path, sh: Git, crash: str) -> None:
    bare = make_remote(tmp_path, sh)
    checkout = clone(tmp_path, sh, bare)
    before = snapshot(sh, checkout)
    branch = repo.branch_for(KEY)
    worktree = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    (worktree / "fix.txt").write_text("approved\n")
    made = await repo.commit_all(worktree, "Add fix", [])  # committed, never pushed
    shutil.rmtree(worktree)
    if crash == "stale .git file":
        worktree.mkdir()
        (worktree / ".git").write_text(f"gitdir: {tmp_path / 'nowhere' / 'worktrees' / 'x'}\n")
    elif crash == "empty directory":
        worktree.mkdir()

    again = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    assert again == worktree
    assert sh(worktree, "rev-parse", "HEAD") == made  # the unpushed commit is kept
    assert sh(worktree, "status", "--porcelain") == ""
    listed = sh(checkout, "worktree", "list", "--porcelain")
    assert listed.count(f"worktree {worktree}") == 1
    assert "prunable" not in listed
    assert snapshot(sh, checkout) == before


# --- commits and pushes -------------------------------------------------------------------


async def test_commit_all_commits_once_with_trailers(tmp_path: Path, sh: Git) -> None:
    checkout = clone(tmp_path, sh, make_remote(tmp_path, sh))
    worktree = await repo.ensure_worktree(checkout, tmp_path / "wt", repo.branch_for(KEY))
    assert await repo.commit_all(worktree, "Nothing yet", []) is None
    thread = "https://sandbox.slack.com/archives/C0INC/p1733059200123456"
    trailers = [("Approved-by", "Dana (U0DANA)"), ("Slack-Thread", thread)]
    (worktree / "app.py").write_text("print('v2')\n")
    (worktree / "conf").mkdir()
    (worktree / "conf" / "limits.yaml").write_text("cpu: 2\n")
    (worktree / "README.md").unlink()

    sha = await repo.commit_all(worktree, "Raise the CPU limit", trailers)
    assert sha is not None
    assert sha == sh(worktree, "rev-parse", "HEAD")
    assert await repo.commit_all(worktree, "Raise the CPU limit", trailers) is None
    assert sh(worktree, "rev-list", "--count", "HEAD") == "2"
    assert sh(worktree, "show", "--name-status", "--format=", "HEAD").split() == [
        "D", "README.md", "M", "app.py", "A", "conf/limits.yaml"]  # fmt: skip
    people = sh(worktree, "log", "-1", "--format=%an <%ae>|%cn <%ce>")
    bot = "opsbot <opsbot@users.noreply.github.com>"
    assert people == f"{bot}|{bot}"
    message = sh(worktree, "log", "-1", "--format=%B")
    assert message.splitlines()[:2] == ["Raise the CPU limit", ""]
    parsed = sh(worktree, "interpret-trailers", "--parse", input=message + "\n")
    assert parsed.splitlines() == [f"{k}: {v}" for k, v in trailers]
    base = "refs/remotes/origin/main"
    assert await repo.commits_since(worktree, base) == [(sha, "Raise the CPU limit")]
    stat = await repo.diff_stat(worktree, base)
    assert "3 files changed" in stat
    assert "conf/limits.yaml" in stat
    with pytest.raises(RepoError):
        await repo.commits_since(worktree, "refs/remotes/origin/never-pushed")
    with pytest.raises(RepoError):
        await repo.diff_stat(worktree, "--output=/tmp/x")


@pytest.mark.parametrize("single", [False, True], ids=["full clone", "single-branch clone"])
async def test_push_then_push_again(tmp_path: Path, sh: Git, single: bool) -> None:
    bare = make_remote(tmp_path, sh)
    checkout = tmp_path / "checkout"
    sh(tmp_path, "clone", "-q", *(["--single-branch"] if single else []), str(bare), str(checkout))
    branch = repo.branch_for(KEY)
    worktree = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    (worktree / "app.py").write_text("print('v2')\n")
    first = await repo.commit_all(worktree, "v2", [])

    assert await repo.push(worktree, branch) is True
    assert sh(bare, "rev-parse", f"refs/heads/{branch}") == first
    assert await repo.push(worktree, branch) is False
    (worktree / "app.py").write_text("print('v3')\n")
    second = await repo.commit_all(worktree, "v3", [])
    assert await repo.push(worktree, branch) is True
    assert sh(bare, "rev-parse", f"refs/heads/{branch}") == second
    assert sh(bare, "rev-parse", "refs/heads/main") != second
    assert sh(checkout, "rev-parse", f"refs/remotes/origin/{branch}") == second
    assert await repo.commits_since(worktree, f"refs/remotes/origin/{branch}") == []


async def test_a_pushed_branch_is_continued_elsewhere(tmp_path: Path, sh: Git) -> None:
    bare = make_remote(tmp_path, sh)
    branch = repo.branch_for(KEY)
    first_checkout = clone(tmp_path, sh, bare, "first")
    worktree = await repo.ensure_worktree(first_checkout, tmp_path / "wt1", branch)
    (worktree / "app.py").write_text("print('v2')\n")
    pushed = await repo.commit_all(worktree, "v2", [])
    assert await repo.push(worktree, branch)

    # another process on another machine: its own checkout and worktree root
    other = await repo.ensure_worktree(clone(tmp_path, sh, bare, "second"), tmp_path / "wt2",
                                       branch)  # fmt: skip
    assert sh(other, "rev-parse", "HEAD") == pushed
    (other / "app.py").write_text("print('v3')\n")
    continued = await repo.commit_all(other, "v3", [])
    assert await repo.push(other, branch) is True
    assert sh(bare, "rev-parse", f"refs/heads/{branch}") == continued

    # a restart of the first one whose worktree root was wiped: it continues from the remote
    shutil.rmtree(tmp_path / "wt1")
    again = await repo.ensure_worktree(first_checkout, tmp_path / "wt3", branch)
    assert sh(again, "rev-parse", "HEAD") == continued


# --- configuration of the repository never runs ---------------------------------------------


def arm(path: Path, marker: Path) -> Path:
    """An executable script at `path` that leaves `marker/<its name>` when run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch '{marker}/{path.name}'\ncat\n")
    path.chmod(0o755)
    return path


async def test_hooks_fsmonitor_and_filters_of_the_checkout_never_run(
    tmp_path: Path, sh: Git
) -> None:
    bare = make_remote(tmp_path, sh)
    checkout = clone(tmp_path, sh, bare)
    marks = tmp_path / "marks"
    marks.mkdir()
    for hook in ("pre-commit", "commit-msg", "post-commit", "pre-push", "post-checkout",
                 "reference-transaction", "pre-auto-gc"):  # fmt: skip
        arm(checkout / ".git" / "hooks" / hook, marks)
    sh(checkout, "config", "core.fsmonitor", str(arm(tmp_path / "bin" / "fsmonitor", marks)))
    sh(checkout, "config", "filter.evil.clean", str(arm(tmp_path / "bin" / "clean", marks)))
    sh(checkout, "config", "filter.evil.smudge", str(arm(tmp_path / "bin" / "smudge", marks)))
    sh(checkout, "config", "diff.evil.textconv", str(arm(tmp_path / "bin" / "textconv", marks)))
    sh(checkout, "config", "commit.gpgSign", "true")
    sh(checkout, "config", "gpg.program", str(arm(tmp_path / "bin" / "gpg", marks)))
    (checkout / ".git" / "info" / "attributes").write_text("* filter=evil diff=evil\n")

    branch = repo.branch_for(KEY)
    worktree = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    (worktree / "app.py").write_text("print('v2')\n")
    assert await repo.commit_all(worktree, "v2", [("Approved-by", "Dana (U0DANA)")])
    assert await repo.push(worktree, branch)
    assert await repo.commits_since(worktree, "refs/remotes/origin/main")
    assert "app.py" in await repo.diff_stat(worktree, "refs/remotes/origin/main")
    assert sorted(p.name for p in marks.iterdir()) == []

    # the same repository under a plain git does run them: the traps were armed
    sh(worktree, "-c", "commit.gpgSign=false", "commit", "-q", "--allow-empty", "-m", "plain")
    sh(checkout, "status")
    assert {"pre-commit", "fsmonitor"} <= {p.name for p in marks.iterdir()}


# --- refusals -----------------------------------------------------------------------------


async def test_a_server_hook_refusal_is_one_line_with_its_message(tmp_path: Path, sh: Git) -> None:
    bare = make_remote(tmp_path, sh)
    checkout = clone(tmp_path, sh, bare)
    branch = repo.branch_for(KEY)
    worktree = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    (worktree / "app.py").write_text("print('v2')\n")
    await repo.commit_all(worktree, "v2", [])
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'GH006: Protected branch update failed for opsbot/*' >&2\n"
                    "exit 1\n")  # fmt: skip
    hook.chmod(0o755)

    with pytest.raises(RepoError) as refused:
        await repo.push(worktree, branch)
    text = str(refused.value)
    assert "\n" not in text
    assert "GH006: Protected branch update failed" in text
    assert "[remote rejected] (pre-receive hook declined)" in text
    assert sh(bare, "for-each-ref", "refs/heads/opsbot") == ""


async def test_a_diverged_branch_is_not_forced(tmp_path: Path, sh: Git) -> None:
    bare = make_remote(tmp_path, sh)
    sh(bare, "config", "receive.denyNonFastForwards", "true")
    branch = repo.branch_for(KEY)
    worktree = await repo.ensure_worktree(clone(tmp_path, sh, bare), tmp_path / "wt", branch)
    (worktree / "app.py").write_text("print('ours')\n")
    await repo.commit_all(worktree, "ours", [])
    elsewhere = clone(tmp_path, sh, bare, "elsewhere")  # someone pushed the branch meanwhile
    (elsewhere / "app.py").write_text("print('theirs')\n")
    sh(elsewhere, "commit", "-q", "-am", "theirs")
    sh(elsewhere, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    theirs = sh(elsewhere, "rev-parse", "HEAD")

    with pytest.raises(RepoError) as refused:
        await repo.push(worktree, branch)
    text = str(refused.value)
    assert "\n" not in text
    assert text.startswith(f"push of {branch} to origin failed: [rejected]")
    assert sh(bare, "rev-parse", f"refs/heads/{branch}") == theirs


class _Refuser(BaseHTTPRequestHandler):
    status = 403
    location = ""  # with status 302: where every request is sent on to
    seen: list[str | None] = []

    def _refuse(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        body = b"token revoked or lacks the repo scope\n"
        self.send_response(self.status)
        if self.status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
        if self.location:
            self.send_header("Location", self.location + self.path)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(status: int, location: str = "") -> Iterator[tuple[str, list[str | None]]]:
    """A real HTTP server on 127.0.0.1 answering every request with `status` (and a Location
    of `location` + the path): its base URL and the Authorization header of each request."""

    class Handler(_Refuser):
        pass

    Handler.status, Handler.location, Handler.seen = status, location, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Handler.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=[401, 403])
def refusing_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[str | None]]]:
    """A real HTTP git server on 127.0.0.1 that refuses every request with 401 or 403."""
    with serving(request.param) as server:
        yield server


async def test_a_refused_token_never_shows(
    tmp_path: Path, sh: Git, refusing_server: tuple[str, list[str | None]]
) -> None:
    base, seen = refusing_server
    bare = make_remote(tmp_path, sh)
    checkout = clone(tmp_path, sh, bare)
    branch = repo.branch_for(KEY)
    worktree = await repo.ensure_worktree(checkout, tmp_path / "wt", branch)
    (worktree / "app.py").write_text("print('v2')\n")
    await repo.commit_all(worktree, "v2", [])
    marks = tmp_path / "marks"
    marks.mkdir()
    sh(checkout, "config", "credential.helper", str(arm(tmp_path / "bin" / "helper", marks)))

    with_token = f"http://x-access-token:{TOKEN}@{base.removeprefix('http://')}/acme/shop.git"
    for url in (f"{base}/acme/shop.git", with_token, "https://127.0.0.1:9/acme/shop.git"):
        sh(checkout, "remote", "set-url", "origin", url)
        for call in (repo.push(worktree, branch, TOKEN), repo.default_branch(checkout, TOKEN),
                     repo.ensure_worktree(checkout, tmp_path / "wt2", branch, TOKEN)):  # fmt: skip
            with pytest.raises(RepoError) as refused:
                await call
            text = str(refused.value)
            assert "\n" not in text
            assert text
            assert TOKEN not in text, text
            assert BASIC not in text, text
    assert f"Basic {BASIC}" in seen  # the token went, as a header, to the host of origin
    assert list(marks.iterdir()) == []  # the repository's credential helper never ran


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_the_token_header_does_not_follow_a_redirect_elsewhere(
    tmp_path: Path, sh: Git, status: int
) -> None:
    checkout = clone(tmp_path, sh, make_remote(tmp_path, sh))
    with serving(403) as (elsewhere, seen_elsewhere), serving(status, elsewhere) as (base, seen):
        sh(checkout, "remote", "set-url", "origin", f"{base}/acme/shop.git")
        with pytest.raises(RepoError) as refused:
            await repo.default_branch(checkout, TOKEN)
    assert TOKEN not in str(refused.value)
    assert seen == [f"Basic {BASIC}"]  # origin's host got it
    assert seen_elsewhere  # git followed the redirect ...
    assert all(f"Basic {BASIC}" != header for header in seen_elsewhere)  # ... without it
