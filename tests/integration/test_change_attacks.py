"""Attacks on pull-request mode below the bot: a model (or a repository) that tries to make an
approved write land in the operator's checkout, commit more than was approved, leak a credential
into an error line, or make open_pull_request fail loudly. Real git (bare remotes, a pre-receive
hook), the forge stand-in (sandbox/forge/) on 127.0.0.1, the real file tools and change layer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agents import changes
from core.errors import ConfigError
from core.settings import Settings
from sandbox.forge.server import ForgeConfig, RunningForge, start_forge
from tools.base import ToolContext, ToolStatus
from tools.changes import repo
from tools.changes.repo import RepoError
from tools.changes.tool import OPEN_PULL_REQUEST
from tools.files import TOOLS as FILE_TOOLS

TOKEN = "ghp_AttackForgeToken0123456789abcdefXYZ"
PLACE = ("T0ATTACK", "C0INC", "1733059200.123456")
WRITE = next(tool for tool in FILE_TOOLS if tool.name == "write_file")
Git = Callable[..., str]


@pytest.fixture
def sh(tmp_path: Path) -> Git:
    """The test's own plain git (no system or global configuration); stdout stripped."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_AUTHOR_NAME": "Operator", "GIT_AUTHOR_EMAIL": "op@example.com",
           "GIT_COMMITTER_NAME": "Operator", "GIT_COMMITTER_EMAIL": "op@example.com"}  # fmt: skip

    def run(cwd: Path, *args: str, check: bool = True) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, text=True, capture_output=True,
                              timeout=60)  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"git {args}: {done.stderr}")
        return done.stdout.strip()

    return run


def make_checkout(tmp_path: Path, sh: Git) -> tuple[Path, Path]:
    """(bare remote acme/shop.git on main, the operator's clone of it with a dirty app.py)."""
    bare = tmp_path / "remote" / "acme" / "shop.git"
    bare.mkdir(parents=True)
    sh(bare, "init", "-q", "--bare", "-b", "main")
    seed = tmp_path / "seed"
    sh(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "app.py").write_text("print('v1')\n")
    (seed / "README.md").write_text("shop\n")
    sh(seed, "add", "-A")
    sh(seed, "commit", "-q", "-m", "first")
    sh(seed, "push", "-q", "origin", "HEAD:refs/heads/main")
    checkout = tmp_path / "checkout"
    sh(tmp_path, "clone", "-q", str(bare), str(checkout))
    (checkout / "app.py").write_text("print('operator is editing')\n")
    return bare, checkout


def snapshot(sh: Git, checkout: Path) -> dict[str, str]:
    """What the operator sees of the checkout: HEAD, status, index, their branches, worktrees."""
    branches = sh(checkout, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads")
    return {
        "head": sh(checkout, "rev-parse", "HEAD"),
        "symbolic": sh(checkout, "symbolic-ref", "HEAD"),
        "status": sh(checkout, "status", "--porcelain=v1", "--untracked-files=all"),
        "index": sh(checkout, "ls-files", "--stage"),
        "branches": "\n".join(b for b in branches.splitlines() if "refs/heads/opsbot/" not in b),
        "app": (checkout / "app.py").read_text(),
    }


def settings(checkout: Path, **values: Any) -> Settings:
    base: dict[str, Any] = {"workspace": checkout, "change_mode": "pull_request",
                            "github_token": TOKEN, "gitlab_url": None,
                            "gitlab_token": None}  # fmt: skip
    return Settings(_env_file=None, **{**base, **values})


@pytest.fixture
async def forge() -> AsyncIterator[RunningForge]:
    running = await start_forge(ForgeConfig(tokens={TOKEN: "write"}, repos={"acme/shop": "main"}))
    yield running
    await running.stop()


async def thread_ctx(
    checkout: Path, forge: RunningForge, place: tuple[str, str, str] = PLACE
) -> ToolContext:
    setup = await changes.load_change_setup(settings(checkout, github_api_url=forge.url))
    assert setup is not None
    ctx = await changes.thread_context(setup, ToolContext(workspace=checkout), place)
    return replace(ctx, approved=True)


async def approved_write(ctx: ToolContext, path: str, content: str) -> str | None:
    """write_file as an approved call runs it, then the commit the bot makes after it."""
    result = await WRITE.run({"path": path, "content": content}, ctx)
    assert result.status is ToolStatus.OK, result.error
    return await changes.commit_write(ctx, "write_file", path, "U0APPROVER")


def relative(path: Path, start: Path) -> Path:
    return Path(os.path.relpath(path, start))


# --- the worktree's `.git` file: a write there must not move commits into another repository


@pytest.mark.parametrize("gitdir", ["checkout", "checkout-admin"])
async def test_rewritten_git_file_never_commits_into_the_operators_checkout(
    tmp_path: Path, sh: Git, forge: RunningForge, gitdir: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    ctx = await thread_ctx(checkout, forge)
    assert ctx.change is not None
    before = snapshot(sh, checkout)
    target = checkout / ".git"
    if gitdir == "checkout-admin":  # the relative form
        target = relative(checkout / ".git", ctx.workspace)
    with contextlib.suppress(RepoError):
        await approved_write(ctx, ".git", f"gitdir: {target}\n")
    (ctx.workspace / "app.py").write_text("print('fixed')\n")
    with pytest.raises(RepoError):
        await changes.commit_write(ctx, "edit_file", "app.py", "U0APPROVER")
    assert snapshot(sh, checkout) == before
    assert sh(checkout, "log", "-1", "--format=%an", "main") == "Operator"


# --- pathspec magic in a written file's name: only that file is committed


@pytest.mark.parametrize("name", ["*", ":(exclude)notes.txt", ":!app.py", "un*.txt"])
async def test_a_file_name_that_is_pathspec_magic_commits_only_that_file(
    tmp_path: Path, sh: Git, forge: RunningForge, name: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    ctx = await thread_ctx(checkout, forge)
    (ctx.workspace / "unapproved.txt").write_text("a command's leftovers, never approved\n")
    sha = await approved_write(ctx, name, "approved text\n")
    assert sha is not None
    files = sh(ctx.workspace, "show", "--name-only", "--format=", sha).splitlines()
    assert files == [name]


# --- credentials in the remote URL never reach an error line


@pytest.mark.parametrize(
    "url",
    ["https://bot:pa@ss-Secret99@127.0.0.1:9/acme", "https://bot:x@y@zz-Secret99@127.0.0.1:9/a"],
)
def test_a_password_with_at_signs_never_reaches_the_remote_error(url: str) -> None:
    with pytest.raises(RepoError) as raised:
        repo.parse_remote(url)
    assert "Secret99" not in str(raised.value)


@pytest.mark.parametrize(
    "text",
    ["fatal: unable to access 'https://bot:pa@ss-Secret99@h/a/b.git/': refused",
     "fatal: could not read from https://u:a@b@c-Secret99@h/x"],
)  # fmt: skip
def test_git_output_with_at_signs_in_a_password_is_cleaned(text: str) -> None:
    from tools.changes._git import one_line

    assert "Secret99" not in one_line(text)


# --- start-up configuration errors: one ConfigError line, no token


async def test_pull_request_mode_without_origin_is_one_config_error(
    tmp_path: Path, sh: Git
) -> None:
    plain, bare_dir = tmp_path / "plain", tmp_path / "not-a-repository"
    plain.mkdir()
    bare_dir.mkdir()
    sh(plain, "init", "-q")
    for where in (plain, bare_dir):
        with pytest.raises(ConfigError) as raised:
            await changes.load_change_setup(settings(where))
        assert "OPSBOT_CHANGE_MODE" in str(raised.value)
        assert "\n" not in str(raised.value)


async def test_pull_request_mode_without_token_is_one_config_error(tmp_path: Path, sh: Git) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    for token in (None, ""):
        with pytest.raises(ConfigError) as raised:
            await changes.load_change_setup(settings(checkout, github_token=token))
        assert "GITHUB_TOKEN" in str(raised.value)
        assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/acme/shop.git", "https://bot:Secret99@127.0.0.1:9/acme/shop.git"]
)
async def test_an_unreachable_origin_is_one_config_error_without_secrets(
    tmp_path: Path, sh: Git, url: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    sh(checkout, "remote", "set-url", "origin", url)
    with pytest.raises(ConfigError) as raised:
        await changes.load_change_setup(settings(checkout, github_api_url="http://127.0.0.1:9"))
    line = str(raised.value)
    assert "OPSBOT_WORKSPACE" in line
    assert "\n" not in line
    assert "Secret99" not in line
    assert TOKEN not in line


# --- open_pull_request refusals and forge/remote errors: one line, no token, nothing twice


async def open_pr(ctx: ToolContext, title: str = "Fix app") -> Any:
    args = {"title": title, "summary": "The app printed v1."}
    return await OPEN_PULL_REQUEST.run(args, ctx)


async def test_open_pull_request_in_workspace_mode_and_with_nothing_committed(
    tmp_path: Path, sh: Git, forge: RunningForge
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    off = await open_pr(ToolContext(workspace=checkout))
    assert off.status is ToolStatus.ERROR
    assert "OPSBOT_CHANGE_MODE=workspace" in (off.error or "")
    ctx = await thread_ctx(checkout, forge)
    assert forge.state.requests == ["GET /repos/acme/shop"], "the start's one look at the forge"
    forge.state.requests.clear()
    empty = await open_pr(ctx)
    assert empty.status is ToolStatus.ERROR
    assert "nothing to propose" in (empty.error or "")
    assert forge.state.requests == []
    assert sh(checkout, "ls-remote", "origin", "opsbot/*") == ""


@pytest.mark.parametrize("title", ["x" * 10_000, ""])
async def test_open_pull_request_refuses_titles_out_of_bounds(
    tmp_path: Path, sh: Git, forge: RunningForge, title: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    ctx = await thread_ctx(checkout, forge)
    await approved_write(ctx, "app.py", "print('v2')\n")
    result = await open_pr(ctx, title)
    assert result.status is ToolStatus.ERROR
    assert len((result.error or "").splitlines()) == 1
    assert forge.state.pulls == []


async def test_open_pull_request_twice_opens_once(
    tmp_path: Path, sh: Git, forge: RunningForge
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    ctx = await thread_ctx(checkout, forge)
    await approved_write(ctx, "app.py", "print('v2')\n")
    first, second = await open_pr(ctx), await open_pr(ctx)
    assert first.status is ToolStatus.OK, second.error
    assert second.status is ToolStatus.OK, second.error
    assert len(forge.state.pulls) == 1
    assert forge.state.comments == []
    assert second.data["reused"] is True


def reject_pushes(bare: Path, message: str) -> None:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    hook.chmod(0o755)


@pytest.mark.parametrize(
    "fault",
    ["pre-receive", "403", "rate-limit", "server-down"],
)
async def test_every_refusal_is_one_line_without_the_token(
    tmp_path: Path, sh: Git, forge: RunningForge, fault: str
) -> None:
    bare, checkout = make_checkout(tmp_path, sh)
    ctx = await thread_ctx(checkout, forge)
    await approved_write(ctx, "app.py", "print('v2')\n")
    before = snapshot(sh, checkout)
    route = "POST /repos/acme/shop/pulls"
    if fault == "pre-receive":
        reject_pushes(bare, f"GH006: Protected branch update failed {TOKEN}")
    elif fault == "403":
        forge.state.fail_next(route, 403, {"message": "Resource not accessible by integration"})
    elif fault == "rate-limit":
        forge.state.rate_limit(route)
    else:
        await forge.stop()
    result = await open_pr(ctx)
    line = result.error or ""
    assert result.status is ToolStatus.ERROR, line
    assert line, line
    assert "\n" not in line, line
    assert TOKEN not in line
    assert len(line) < 600
    expected = {"pre-receive": "Protected branch", "403": "may not",
                "rate-limit": "rate limit", "server-down": "cannot connect"}  # fmt: skip
    assert expected[fault] in line
    assert forge.state.pulls == []
    assert snapshot(sh, checkout) == before


# --- the operator's own worktrees are not pruned


async def test_the_operators_stale_worktree_is_left_registered(
    tmp_path: Path, sh: Git, forge: RunningForge
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    away = tmp_path / "usb" / "hotfix"
    sh(checkout, "worktree", "add", "-q", "-b", "hotfix", str(away))
    os.rename(away, tmp_path / "unplugged")  # a worktree on a drive that is not mounted now
    listed = sh(checkout, "worktree", "list", "--porcelain")
    await thread_ctx(checkout, forge)
    await thread_ctx(checkout, forge, ("T0ATTACK", "C0INC", "1733059999.000001"))
    assert str(away) in sh(checkout, "worktree", "list", "--porcelain")
    assert str(away) in listed


# --- symlinks the repository holds: a write through them is refused, nothing leaves


@pytest.mark.parametrize("points_at", ["checkout", "etc"])
async def test_a_committed_symlink_never_leads_a_write_out_of_the_worktree(
    tmp_path: Path, sh: Git, forge: RunningForge, points_at: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")
    where = checkout if points_at == "checkout" else outside
    seed = tmp_path / "seed"
    (seed / "dir-link").symlink_to(where)
    (seed / "file-link").symlink_to(where / ("app.py" if points_at == "checkout" else "passwd"))
    sh(seed, "add", "-A")
    sh(seed, "commit", "-q", "-m", "links")
    sh(seed, "push", "-q", "origin", "HEAD:refs/heads/main")
    ctx = await thread_ctx(checkout, forge)
    before = snapshot(sh, checkout)
    outside_before = (outside / "passwd").read_text()
    for path in ("dir-link/app.py", "dir-link/passwd", "file-link", "dir-link/new.txt"):
        result = await WRITE.run({"path": path, "content": "owned\n"}, ctx)
        assert result.status is not ToolStatus.OK, path
    assert snapshot(sh, checkout) == before
    assert (outside / "passwd").read_text() == outside_before
    assert not (checkout / "new.txt").exists()
    assert not (outside / "new.txt").exists()


# --- thread ids that make a bad ref or path


@pytest.mark.parametrize("stamp", ["x" * 300, "1733059200.1/../../etc", "-1.2 @{u}~^?*[\\"])
async def test_odd_thread_stamps_make_a_valid_branch_inside_the_worktree_root(
    tmp_path: Path, sh: Git, forge: RunningForge, stamp: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    ctx = await thread_ctx(checkout, forge, ("T0ATTACK", "C0INC", stamp))
    assert ctx.change is not None
    assert ctx.change.branch.startswith("opsbot/")
    sh(checkout, "check-ref-format", f"refs/heads/{ctx.change.branch}")
    assert ctx.workspace.parent == checkout / ".git" / "opsbot-worktrees"


@pytest.mark.parametrize("stamp", ["..", "", "/../..", "ä.ö"])
async def test_a_thread_stamp_without_a_name_is_a_one_line_repo_error(
    tmp_path: Path, sh: Git, forge: RunningForge, stamp: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    with pytest.raises(RepoError) as raised:  # _call_context turns it into the thread's line
        await thread_ctx(checkout, forge, ("T0ATTACK", "C0INC", stamp))
    assert "\n" not in str(raised.value)
    assert not (checkout / ".git" / "opsbot-worktrees").exists()


# --- many threads at once: each gets its worktree, the checkout stays as it was


@pytest.mark.parametrize("threads", [4, 8])
async def test_threads_starting_together_each_get_their_worktree(
    tmp_path: Path, sh: Git, forge: RunningForge, threads: int
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    before = snapshot(sh, checkout)
    setup = await changes.load_change_setup(settings(checkout, github_api_url=forge.url))
    assert setup is not None
    places = [("T0ATTACK", "C0INC", f"1733059200.{n:06d}") for n in range(threads)]
    made = await asyncio.gather(
        *(changes.thread_context(setup, ToolContext(workspace=checkout), p) for p in places),
        return_exceptions=True,
    )
    failed = [str(m) for m in made if isinstance(m, BaseException)]
    assert failed == []
    assert len({m.workspace for m in made if isinstance(m, ToolContext)}) == threads
    assert snapshot(sh, checkout) == before


# --- where the worktrees go: never into the checkout's files, and a checkout whose .git is a file


@pytest.mark.parametrize("inside", ["wt", "sub/dir/wt"])
async def test_worktrees_inside_the_checkouts_files_are_a_config_error(
    tmp_path: Path, sh: Git, forge: RunningForge, inside: str
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    values = {"github_api_url": forge.url, "worktrees": checkout / inside}
    with pytest.raises(ConfigError) as raised:
        await changes.load_change_setup(settings(checkout, **values))
    assert "OPSBOT_WORKTREES" in str(raised.value)


@pytest.mark.parametrize("kind", ["linked-worktree", "separate-git-dir", "subdirectory"])
async def test_a_checkout_whose_git_is_a_file_gets_thread_worktrees(
    tmp_path: Path, sh: Git, forge: RunningForge, kind: str
) -> None:
    bare, main_checkout = make_checkout(tmp_path, sh)
    if kind == "linked-worktree":
        checkout = tmp_path / "operator-wt"
        sh(main_checkout, "worktree", "add", "-q", "-b", "operator-work", str(checkout))
    elif kind == "separate-git-dir":
        checkout = tmp_path / "separate"
        sh(tmp_path, "clone", "-q", f"--separate-git-dir={tmp_path / 'sep.git'}", str(bare),
           str(checkout))  # fmt: skip
    else:  # OPSBOT_WORKSPACE is a directory of the repository, not its top
        checkout = main_checkout / "services"
        checkout.mkdir()
    top = Path(sh(checkout, "rev-parse", "--show-toplevel"))
    (top / "app.py").write_text("print('operator is editing')\n")
    before = snapshot(sh, top)
    ctx = await thread_ctx(checkout, forge)
    sha = await approved_write(ctx, "app.py", "print('v2')\n")
    assert sha is not None
    assert snapshot(sh, top) == before
    assert not (checkout / ".git").is_dir()


# --- the token is not in any repr a log line or a traceback with locals would print


async def test_the_token_is_in_no_repr_of_the_setup_or_a_threads_context(
    tmp_path: Path, sh: Git, forge: RunningForge
) -> None:
    _, checkout = make_checkout(tmp_path, sh)
    setup = await changes.load_change_setup(settings(checkout, github_api_url=forge.url))
    ctx = await thread_ctx(checkout, forge)
    for shown in (repr(setup), str(setup), repr(ctx), repr(ctx.change), f"{ctx.change}"):
        assert TOKEN not in shown


@pytest.mark.parametrize("calls", [2, 3])
async def test_open_pull_request_called_together_opens_one(
    tmp_path: Path, sh: Git, forge: RunningForge, calls: int
) -> None:
    """Parallel tool calls of one turn, all approved: one pull request, no error line."""
    _, checkout = make_checkout(tmp_path, sh)
    ctx = await thread_ctx(checkout, forge)
    await approved_write(ctx, "app.py", "print('v2')\n")
    results = await asyncio.gather(*(open_pr(ctx) for _ in range(calls)))
    assert [r.error for r in results] == [None] * calls
    assert len(forge.state.pulls) == 1
    assert forge.state.comments == []


@pytest.mark.parametrize(
    "text",
    ["paged @acme/oncall about it", "@dana ran the tests", "cc @Robin-lead, @team.x"],
)
def test_a_mention_the_model_wrote_pages_nobody_on_the_forge(text: str) -> None:
    from tools.changes.target import quiet_mentions

    quiet = quiet_mentions(text)
    assert re.search(r"(?<![\w.`/])@[A-Za-z0-9]", quiet) is None
    assert quiet.replace("\u200b", "") == text
    assert quiet_mentions("mail oncall@example.com") == "mail oncall@example.com"
