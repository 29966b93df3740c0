"""Pull-request mode (OPSBOT_CHANGE_MODE): which repository and forge, each thread's worktree
on its own branch, and the commit after each approved write.

The operator's checkout (OPSBOT_WORKSPACE) is never written: a thread's tools work in a git
worktree under OPSBOT_WORKTREES (default: the checkout's `.git/opsbot-worktrees`, beside the
metadata it needs and outside its working tree) on branch `opsbot/<id>`, made from the
remote's default branch (or from the branch itself once it was pushed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.errors import ConfigError
from core.settings import Settings
from tools.base import ToolContext
from tools.changes import repo
from tools.changes.forge import Forge, ForgeError, TokenSource, make_forge
from tools.changes.github_app import GitHubAppTokens
from tools.changes.target import BOT_AUTHOR, ChangeTarget, commit_trailers

log = logging.getLogger(__name__)
WRITE_TOOLS = frozenset({"write_file", "edit_file"})
"""The tools whose approved, successful call becomes a commit on the thread's branch."""


@dataclass
class ChangeSetup:
    """The repository every thread's branch belongs to, found once at start."""

    forge: Forge
    checkout: Path
    root: Path
    base: str
    token: str | TokenSource | None = field(repr=False)  # never in a log or a traceback
    """The forge token git pushes and fetches with, or a GitHub App's installation tokens."""
    reached: str = ""
    """Empty when the forge answered at start; else why it did not (it was down or busy)."""
    git_dir: Path | None = None
    """The checkout's common git directory (its `.git`, or where a linked worktree's or a
    `--separate-git-dir` clone's `.git` file points); None: `checkout/.git`."""

    async def current_token(self) -> str | None:
        """The token to use now (a GitHub App's is made again before it expires).
        Raises ForgeError when GitHub refuses the App."""
        return (
            self.token if self.token is None or isinstance(self.token, str) else await self.token()
        )

    async def worktree(self, thread_key: str) -> Path:
        """The thread's worktree, made on first use and made again whenever it is no longer a
        worktree of the checkout on its branch (a crash, or a written `.git` file).

        Raises repo.RepoError (one line) when git cannot make it."""
        try:
            branch = repo.branch_for(thread_key)
        except ValueError as error:  # a thread_ts without letters or digits: not from Slack
            raise repo.RepoError(str(error)) from None
        try:
            token = await self.current_token()
        except ForgeError as error:
            raise repo.RepoError(str(error)) from None
        return await repo.ensure_worktree(self.checkout, self.root, branch, token)


def thread_link(team: str, channel: str, thread_ts: str) -> str:
    """A link to a Slack thread that opens it in the Slack client (app.slack.com/client)."""
    return f"https://app.slack.com/client/{team}/{channel}/thread/{channel}-{thread_ts}"


def _app_tokens(settings: Settings, remote: repo.Remote) -> TokenSource | None:
    """The installation tokens of GITHUB_APP_ID for the origin's repository, or None.
    Raises ForgeError when the private key is missing or not an RSA key."""
    if not settings.github_app_id:
        return None
    key = settings.github_app_private_key or ""
    if key and "-----BEGIN" not in key and Path(key).is_file():
        key = Path(key).read_text(encoding="utf-8")
    api = settings.github_api_url
    if api is None:
        dotcom = remote.host.lower() in ("github.com", "www.github.com")
        api = "https://api.github.com" if dotcom else f"https://{remote.host}/api/v3"
    return GitHubAppTokens(api, settings.github_app_id, key, remote.path,
                           settings.github_app_installation_id)  # fmt: skip


async def load_change_setup(settings: Settings) -> ChangeSetup | None:
    """Pull-request mode's setup, or None in workspace mode.

    `auto` is pull-request mode when the workspace has an `origin` and a forge token is set.
    Raises ConfigError (one line naming the variable) when pull-request mode cannot work.
    """
    mode = settings.change_mode
    if mode == "workspace":
        return None
    try:
        remote = await repo.origin(settings.workspace)
    except repo.RepoError as error:
        raise ConfigError("OPSBOT_WORKSPACE", str(error)) from None
    tokens = settings.github_token or settings.gitlab_token or settings.github_app_id
    if mode == "auto" and (remote is None or not tokens):
        return None
    if remote is None:
        why = f"pull_request needs a git repository with an `origin` in {settings.workspace}"
        raise ConfigError("OPSBOT_CHANGE_MODE", why)
    try:
        github: str | TokenSource | None = settings.github_token or _app_tokens(settings, remote)
        forge = make_forge(remote.host, remote.path, github_api_url=settings.github_api_url,
                           github_token=github, gitlab_url=settings.gitlab_url,
                           gitlab_token=settings.gitlab_token)  # fmt: skip
    except ForgeError as error:
        variable = "GITLAB_TOKEN" if settings.gitlab_url else "GITHUB_TOKEN"
        if settings.github_app_id and not settings.gitlab_url:
            variable = "GITHUB_APP_PRIVATE_KEY"
        raise ConfigError(variable, str(error)) from None
    token = settings.gitlab_token if forge.kind == "gitlab" else github
    try:
        now = token if token is None or isinstance(token, str) else await token()
        base = await repo.default_branch(settings.workspace, now)
    except ForgeError as error:
        raise ConfigError("GITHUB_APP_ID", str(error)) from None
    except repo.RepoError as error:
        raise ConfigError("OPSBOT_WORKSPACE", f"its origin: {error}") from None
    try:
        top, git_dir = await repo.git_dirs(settings.workspace)
    except repo.RepoError as error:
        raise ConfigError("OPSBOT_WORKSPACE", str(error)) from None
    root = settings.worktrees or git_dir / "opsbot-worktrees"
    if _inside(root, top) and not _inside(root, git_dir):
        why = f"{root} is inside the checkout's files ({top}); use a directory outside it"
        raise ConfigError("OPSBOT_WORKTREES", why)
    reached = await _reach(forge, settings)
    return ChangeSetup(forge=forge, checkout=settings.workspace, root=root, base=base,
                       token=token, reached=reached, git_dir=git_dir)  # fmt: skip


async def _reach(forge: Forge, settings: Settings) -> str:
    """Ask the forge for the repository once at start. Raises ConfigError when it refuses the
    token or does not know the repository (401, 403, 404); returns why it did not answer when
    it is down, slow or rate limited (a forge outage must not keep the bot from starting)."""
    try:
        await forge.default_branch()
    except ForgeError as error:
        if error.refused is None:
            return str(error)
        variable = "GITLAB_TOKEN" if forge.kind == "gitlab" else "GITHUB_TOKEN"
        if forge.kind == "github" and settings.github_app_id and not settings.github_token:
            variable = "GITHUB_APP_ID"
        raise ConfigError(variable, str(error)) from None
    return ""


def start_line(setup: ChangeSetup | None) -> str:
    """The line `opsbot serve` prints about where approved changes go."""
    if setup is None:
        return ("changes: written into OPSBOT_WORKSPACE (OPSBOT_CHANGE_MODE=pull_request and "
                "a forge token propose them as pull requests instead)")  # fmt: skip
    word = "merge requests" if setup.forge.kind == "gitlab" else "pull requests"
    line = (f"changes: {word} on {setup.forge.repo} into {setup.base}, a branch per thread "
            f"(worktrees in {setup.root})")  # fmt: skip
    if setup.reached:
        line += f"; the forge did not answer at start: {setup.reached}"
    return line


def _inside(path: Path, parent: Path) -> bool:
    return path.resolve().is_relative_to(parent.resolve())


async def thread_context(
    setup: ChangeSetup, ctx: ToolContext, place: tuple[str, str, str], with_commits: bool = False
) -> ToolContext:
    """`ctx` moved into the thread's worktree: the tools read and write there, confined
    commands may read the checkout's git directory (git needs its objects and its config, as
    in workspace mode; the checkout's files stay out of reach), and open_pull_request gets the
    thread's branch (and, `with_commits`, the branch's commits for its approval card).
    `place` is (team, channel, thread_ts).

    Raises repo.RepoError when the worktree cannot be made."""
    team, channel, thread_ts = place
    thread_key = f"{team}:{channel}:{thread_ts}"
    worktree = await setup.worktree(thread_key)  # RepoError first for a key with no branch
    git_dir = setup.git_dir or setup.checkout / ".git"
    confinement = ctx.confinement
    if confinement is not None:
        confinement = replace(confinement, workspace=worktree,
                              read_roots=(*confinement.read_roots, git_dir))  # fmt: skip
    target = ChangeTarget(forge=setup.forge, checkout=setup.checkout, worktree=worktree,
                          branch=repo.branch_for(thread_key), base=setup.base,
                          thread_link=thread_link(team, channel, thread_ts),
                          token=await _now(setup))  # fmt: skip
    commits: tuple[tuple[str, str], ...] = ()
    if with_commits:
        commits = tuple(await repo.commits_since(worktree, f"refs/remotes/origin/{setup.base}"))
    return replace(ctx, workspace=worktree, confinement=confinement, change=target,
                   change_commits=commits)  # fmt: skip


async def _now(setup: ChangeSetup) -> str | None:
    try:
        return await setup.current_token()
    except ForgeError as error:
        raise repo.RepoError(str(error)) from None


async def commit_write(ctx: ToolContext, tool: str, path: str, approver: str | None) -> str | None:
    """Commit an approved write of `path` on the thread's branch (author: the bot; trailers:
    the approver and the thread). Returns the commit's sha, None when nothing changed (a step
    run again after a crash commits once). Raises repo.RepoError."""
    target = ctx.change
    if target is None:
        return None
    target = replace(target, approver=approver)
    await repo.verify_worktree(target.checkout, target.worktree, target.branch)
    verb = "Add" if tool == "write_file" else "Change"
    return await repo.commit_all(target.worktree, f"{verb} {path}", commit_trailers(target),
                                 author=BOT_AUTHOR, paths=[path])  # fmt: skip
