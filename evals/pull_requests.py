"""A case in pull-request mode (`fixture: {pull_request: github | gitlab}`): the fixture is
pushed to a bare remote, the bot works on a clone of it (the operator's checkout), and the
forge stand-in (sandbox/forge/) takes the pull request. Afterwards the case's file checks and
check command run on the thread's pushed branch, and what the forge holds is scored."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.forge.server import RunningForge, start_forge
from sandbox.forge.state import ForgeConfig

TOKEN = "eval-forge-token-not-a-secret"
REPO = "acme/shop"


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class PullRequestWorld:
    """The bare remote, the operator's checkout (the bot's OPSBOT_WORKSPACE), the forge and the
    settings that point the bot at it."""

    forge: RunningForge
    bare: Path
    checkout: Path
    head: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class PullRequestsSeen:
    """What the forge and the remote hold after the case."""

    opened: list[dict[str, str]] = field(default_factory=list)  # title, body, branch per request
    comments: int = 0
    branches: list[str] = field(default_factory=list)
    checkout_changed: bool = False


async def start_world(kind: str, workspace: Path, work: Path) -> PullRequestWorld:
    """Push the prepared `workspace` to a bare `acme/shop` remote, clone the operator's checkout
    and start the forge; raises subprocess.CalledProcessError if git fails."""
    bare = work / "remote" / "acme" / "shop.git"
    bare.parent.mkdir(parents=True)
    _git(work, "clone", "--quiet", "--bare", str(workspace), str(bare))
    checkout = work / "checkout"
    _git(work, "clone", "--quiet", str(bare), str(checkout))
    default = _git(bare, "symbolic-ref", "--short", "HEAD")
    forge = await start_forge(ForgeConfig(tokens={TOKEN: "write"}, repos={REPO: default},
                                          git_dirs={REPO: bare}))  # fmt: skip
    own = ({"github_api_url": forge.url, "github_token": TOKEN} if kind == "github"
           else {"gitlab_url": forge.url, "gitlab_token": TOKEN})  # fmt: skip
    settings = {"change_mode": "pull_request", **own}
    return PullRequestWorld(forge, bare, checkout, _git(checkout, "rev-parse", "HEAD"), settings)


def branch_files(world: PullRequestWorld, work: Path) -> Path | None:
    """A clone of the thread's pushed branch (the files the case checks), or None if none."""
    branches = _git(world.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/opsbot/")
    if not branches:
        return None
    target = work / "branch"
    _git(work, "clone", "--quiet", "--branch", branches.split()[0], str(world.bare), str(target))
    return target


def observe(world: PullRequestWorld) -> PullRequestsSeen:
    """The pull requests opened, comments, pushed branches, and whether the checkout changed."""
    state = world.forge.state
    seen = PullRequestsSeen(
        opened=[{"title": p.title, "body": p.body, "branch": p.branch} for p in state.pulls],
        comments=len(state.comments),
        branches=_git(world.bare, "for-each-ref", "--format=%(refname:short)",
                      "refs/heads/opsbot/").split(),
    )  # fmt: skip
    status = _git(world.checkout, "status", "--porcelain")
    seen.checkout_changed = bool(status) or _git(world.checkout, "rev-parse", "HEAD") != world.head
    return seen
