"""What the stand-in forge holds (repositories, pull requests, merge requests, comments) and the
error answers tests ask it for (`fail_next`, `rate_limit`)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["Comment", "Fault", "ForgeConfig", "ForgeState", "Pull"]

Access = Literal["write", "read"]
LIMITS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


@dataclass
class ForgeConfig:
    """Tokens (token -> "write" or "read"), repositories (path -> default branch), for the
    repositories whose head branches are checked, path -> bare git directory, and GitHub Apps:
    app id (or client id) -> PEM public key, repository -> installation id, and the seconds an
    issued installation token ("ghs_...", a write token) lasts."""

    tokens: dict[str, Access] = field(default_factory=lambda: {"forge-token": "write"})
    repos: dict[str, str] = field(default_factory=lambda: {"acme/shop": "main"})
    git_dirs: dict[str, Path] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)
    installations: dict[str, int] = field(default_factory=dict)
    app_token_lifetime: float = 3600.0
    host: str = "127.0.0.1"
    port: int = 0


@dataclass
class Fault:
    """An error answer for the next `times` requests matching `route` ("POST /repos/a/b/pulls";
    "*" matches every request), after `delay` seconds (a delay alone makes a timeout)."""

    route: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0


@dataclass
class Pull:
    """A pull request (GitHub) or merge request (GitLab; `number` is its iid)."""

    repo: str
    number: int
    branch: str
    base: str
    title: str
    body: str
    state: str = "open"


@dataclass
class Comment:
    """A comment (GitHub issue comment or GitLab note) on pull request `number` of `repo`."""

    repo: str
    number: int
    id: int
    body: str


@dataclass
class ForgeState:
    """The stand-in's memory, for the handlers to change and the tests to read."""

    config: ForgeConfig
    pulls: list[Pull] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    create_calls: Counter[str] = field(default_factory=Counter)
    """Create requests received per repository (refused ones included)."""
    requests: list[str] = field(default_factory=list)
    """Every request as "METHOD /raw/path?query", in order."""
    headers: list[dict[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    app_tokens: dict[str, float] = field(default_factory=dict)
    """Installation tokens issued -> expiry (epoch seconds)."""
    _ids: int = 1000

    def fail_next(
        self,
        route: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` requests of `route` with `status` and `body` (JSON, or
        text when a str) instead of serving them."""
        self.faults.append(Fault(route, status, body, dict(headers or {}), times, delay))

    def rate_limit(
        self, route: str = "*", times: int = 1, *, style: str = "github-primary", wait: int = 60
    ) -> None:
        """Refuse `times` requests as rate limited, the way the forge does. `style`:
        "github-primary" (403, x-ratelimit-remaining 0, x-ratelimit-reset), "github-secondary"
        (429 with retry-after) or "gitlab" (429 "Retry later", Retry-After, RateLimit-Reset);
        `wait` is the seconds until the limit resets."""
        reset = str(int(time.time()) + wait)
        if style == "github-primary":
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                       "x-ratelimit-used": "5000", "x-ratelimit-reset": reset,
                       "x-ratelimit-resource": "core"}  # fmt: skip
            body: Any = {"message": "API rate limit exceeded for user ID 1."}
            body["documentation_url"] = LIMITS
            self.fail_next(route, 403, body, headers, times)
        elif style == "github-secondary":
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before "
                "you try again."
            )
            body = {"message": message, "documentation_url": LIMITS}
            self.fail_next(route, 429, body, {"retry-after": str(wait)}, times)
        else:
            headers = {"Retry-After": str(wait), "RateLimit-Limit": "600",
                       "RateLimit-Observed": "601", "RateLimit-Remaining": "0",
                       "RateLimit-Reset": reset}  # fmt: skip
            self.fail_next(route, 429, "Retry later\n", headers, times)

    def take_fault(self, route: str) -> Fault | None:
        """Take one use of the first fault matching `route`."""
        for fault in self.faults:
            if fault.route in ("*", route):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def access(self, token: str) -> Access | None:
        """What `token` may do: a configured token's access, "write" for an installation
        token until it expires, else None."""
        if token in self.config.tokens:
            return self.config.tokens[token]
        expires = self.app_tokens.get(token)
        return "write" if expires is not None and time.time() < expires else None

    def next_id(self) -> int:
        """A fresh comment or note id."""
        self._ids += 1
        return self._ids

    def open_pull(self, repo: str, branch: str) -> Pull | None:
        """The open pull request of `branch` in `repo`, or None."""
        for pull in self.pulls:
            if pull.repo == repo and pull.branch == branch and pull.state == "open":
                return pull
        return None

    def add_pull(self, repo: str, branch: str, base: str, title: str, body: str) -> Pull:
        """Record a new open pull request with the repository's next number."""
        number = 1 + max((p.number for p in self.pulls if p.repo == repo), default=0)
        pull = Pull(repo, number, branch, base, title, body)
        self.pulls.append(pull)
        return pull

    def branch_exists(self, repo: str, branch: str) -> bool:
        """Whether `branch` exists in `repo`'s bare git directory (True when none is mapped)."""
        git_dir = self.config.git_dirs.get(repo)
        if git_dir is None:
            return True
        done = subprocess.run(
            ["git", "--git-dir", str(git_dir), "rev-parse", "--verify", "--quiet",
             f"refs/heads/{branch}"],
            capture_output=True, check=False, timeout=10,
        )  # fmt: skip
        return done.returncode == 0
