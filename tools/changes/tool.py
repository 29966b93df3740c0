"""open_pull_request: push the thread's branch and open (or update) its pull request.

Every call needs a person's approval (its card shows the branch, the commits and the text).
It may run again after a crash without doing anything twice: a branch the remote already
holds is not pushed again, an open pull request of the branch is found and reused, and a
comment is added only for commits this call pushed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core import faults
from core.types import Risk
from tools.base import Assessment, Tool, ToolContext, ToolError
from tools.changes import repo
from tools.changes._lock import proposing
from tools.changes.forge import ForgeError
from tools.changes.target import ChangeTarget, commit_list, follow_up_comment, request_body

OFF = ("pull requests are off (OPSBOT_CHANGE_MODE=workspace): changes are written into the "
       "workspace and there is no branch to propose")  # fmt: skip


class OpenPullRequestInput(BaseModel):
    title: str = Field(
        min_length=1, max_length=200, description="The pull request's title: what it fixes."
    )
    summary: str = Field(
        min_length=1, max_length=20_000, description="The incident and the change, briefly."
    )
    findings: str = Field(
        default="", max_length=20_000, description="What the investigation found."
    )
    tests: str = Field(
        default="", max_length=20_000, description="Which tests ran and how they ended."
    )


def _target(ctx: ToolContext) -> ChangeTarget:
    if ctx.change is None:
        raise ToolError(OFF)
    return ctx.change


def _preview(args: OpenPullRequestInput, ctx: ToolContext) -> str:
    target = _target(ctx)
    commits = list(ctx.change_commits)
    head = (f"Push {target.branch} ({len(commits)} commit(s) on {target.base}) to "
            f"{target.forge.repo} and open a {target.request_word} into {target.base}, or "
            f"comment on the one already open for the branch.")  # fmt: skip
    body = request_body(target, args.summary, args.findings, args.tests, commits)
    return f"{head}\n\nTitle: {args.title}\n\n{body}"


def _assess(args: OpenPullRequestInput, ctx: ToolContext) -> Assessment:
    target = _target(ctx)
    why = f"pushes {target.branch} and opens a {target.request_word} on {target.forge.repo}"
    return Assessment(risk=Risk.WRITE, reason=why)


async def _new_commits(target: ChangeTarget) -> list[tuple[str, str]]:
    """Commits the remote's copy of the branch lacks (all of them before the first push)."""
    try:
        return await repo.commits_since(target.worktree, f"refs/remotes/origin/{target.branch}")
    except repo.RepoError:  # never pushed: no remote-tracking ref
        return await repo.commits_since(target.worktree, f"refs/remotes/origin/{target.base}")


async def open_pull_request(args: OpenPullRequestInput, ctx: ToolContext) -> dict[str, Any]:
    """Push the branch and open its pull request, or comment on the open one.

    Returns {"url", "number", "branch", "opened" | "updated" | "reused": True}; raises
    ToolError (one line) when there is nothing to propose or git or the forge refuses.
    """
    target = _target(ctx)
    try:
        _, common = await repo.git_dirs(target.worktree)
        async with proposing(common, target.branch):  # parallel calls: the later ones reuse it
            return await _propose(args, target)
    except repo.RepoError as error:  # the lock; _propose words its own
        raise ToolError(f"{target.branch} was not pushed: {error}") from None


async def _propose(args: OpenPullRequestInput, target: ChangeTarget) -> dict[str, Any]:
    try:
        commits = await repo.commits_since(target.worktree, f"refs/remotes/origin/{target.base}")
        if not commits:
            raise ToolError(f"nothing to propose: no approved change is committed on "
                            f"{target.branch} yet")  # fmt: skip
        new = await _new_commits(target)
        await repo.push(target.worktree, target.branch, target.token)
        faults.point("after_push")
    except repo.RepoError as error:
        raise ToolError(f"{target.branch} was not pushed: {error}") from None
    word = target.request_word
    try:
        existing = await target.forge.find_open(target.branch)
        if existing is not None and not new:  # a run again after a crash: nothing is new
            return _outcome(existing.number, existing.url, target, "reused",
                            f"{word} #{existing.number} is open: {existing.url}")  # fmt: skip
        if existing is not None:
            comment = follow_up_comment(target, args.summary, args.tests, new)
            await target.forge.comment(existing.number, comment)
            return _outcome(existing.number, existing.url, target, "updated",
                            f"{word} #{existing.number} updated ({len(new)} new commit(s)): "
                            f"{existing.url}")  # fmt: skip
        body = request_body(target, args.summary, args.findings, args.tests, commits)
        opened = await target.forge.open(target.branch, target.base, args.title, body)
    except ForgeError as error:
        raise ToolError(str(error)) from None
    faults.point("after_pull_request")
    return _outcome(opened.number, opened.url, target, "opened",
                    f"{word} #{opened.number} opened: {opened.url}")  # fmt: skip


def _outcome(number: int, url: str, target: ChangeTarget, how: str, note: str) -> dict[str, Any]:
    return {"url": url, "number": number, "branch": target.branch, how: True, "note": note}


OPEN_PULL_REQUEST = Tool(
    name="open_pull_request",
    description=(
        "Propose the thread's committed changes for review: pushes the thread's branch and opens "
        "a pull request (GitHub) or merge request (GitLab) with your title, the incident "
        "summary, the findings and the test results, or comments on the one already open. Call "
        "it once the tests pass. It asks a person for approval."
    ),
    input_model=OpenPullRequestInput,
    risk=Risk.WRITE,
    handler=open_pull_request,
    preview=_preview,
    assess_call=_assess,
    resumable=True,
)
TOOLS = [OPEN_PULL_REQUEST]
__all__ = ["OPEN_PULL_REQUEST", "TOOLS", "commit_list"]
