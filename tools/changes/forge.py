"""Forges (GitHub, GitLab) as one small interface: find, open and comment on the pull request
(merge request) of a branch, and name a repository's default branch.

In: the remote's host and repository path, the configured API URLs and tokens. Out: a `Forge`
(tools/changes/github.py or tools/changes/gitlab.py). Every failure is a `ForgeError` whose
text is one line a person reads in Slack (tools/changes/_http.py writes it); no token appears
in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal, Protocol
from urllib.parse import urlsplit

import httpx2
from pydantic import BaseModel

__all__ = ["Forge", "ForgeError", "PullRequest", "TokenSource", "make_forge"]

TokenSource = Callable[[], Awaitable[str]]
"""An async callable giving the token for the next request (e.g. a GitHub App's installation
access token, tools/changes/github_app.py); called once per request, so it caches."""


class ForgeError(Exception):
    """A forge call failed; str() is one line for a person, e.g. "GitHub: rate limit reached,
    resets at 14:02 UTC". Never holds a token. `refused` is the HTTP status (401, 403, 404)
    when the forge answered that the token or the repository is wrong, not that it is busy or
    down (None then): at start, only a refusal is a configuration error."""

    def __init__(self, message: str, refused: int | None = None) -> None:
        super().__init__(message)
        self.refused = refused


class PullRequest(BaseModel):
    """An open pull request (GitHub) or merge request (GitLab)."""

    number: int
    """GitHub's pull request number; GitLab's merge request iid (the number in !12)."""
    url: str
    """The page a person opens (GitHub html_url, GitLab web_url)."""
    branch: str
    """The head (source) branch."""
    base: str
    """The base (target) branch."""


class Forge(Protocol):
    """The calls opsbot makes on one repository of one forge."""

    kind: Literal["github", "gitlab"]
    repo: str
    """"owner/name" (GitHub) or the project's full path "group/sub/name" (GitLab)."""

    async def default_branch(self) -> str:
        """The repository's default branch; raises ForgeError."""
        ...

    async def find_open(self, branch: str) -> PullRequest | None:
        """The open pull request whose head is `branch` in this repository, or None."""
        ...

    async def open(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request of `branch` into `base`, or return the one already open."""
        ...

    async def comment(self, number: int, body: str) -> str:
        """Comment on pull request `number`; returns the comment's URL."""
        ...


def _host(url: str | None) -> str | None:
    return (urlsplit(url).hostname or None) if url else None


def make_forge(
    host: str,
    path: str,
    *,
    github_api_url: str | None,
    github_token: str | TokenSource | None,
    gitlab_url: str | None,
    gitlab_token: str | None,
    client: httpx2.AsyncClient | None = None,
) -> Forge:
    """The forge of the remote `host`/`path` (path "owner/name" or "group/sub/name", no .git).

    GitLab when `gitlab_url` (e.g. https://gitlab.example.com) is set and either its host is
    `host` or no GitHub API URL is configured for a host other than github.com; else GitHub at
    `github_api_url`, or https://api.github.com for github.com and https://HOST/api/v3 (GitHub
    Enterprise Server) for another host. `client` (its timeouts included) is used when given;
    else each call makes its own with a 10 s timeout. `github_token` is a token or a
    TokenSource awaited before each GitHub request. Raises ForgeError when the token that
    forge needs is missing or the path is empty.
    """
    from tools.changes.github import GitHubForge  # imported here: they import this module
    from tools.changes.gitlab import GitLabForge

    repo = path.strip("/").removesuffix(".git")
    host = host.lower()
    gitlab_host = _host(gitlab_url)
    use_gitlab = gitlab_url is not None and (
        gitlab_host == host or (github_api_url is None and host != "github.com")
    )
    if use_gitlab:
        assert gitlab_url is not None
        if not gitlab_token:
            raise ForgeError(f"GitLab: no token configured for {repo} (set the GitLab token)")
        if "/" not in repo:
            raise ForgeError(f"GitLab: {repo!r} is not a project path (group/name)")
        return GitLabForge(gitlab_url, repo, gitlab_token, client)
    if not github_token:
        raise ForgeError(f"GitHub: no token configured for {repo} (set the GitHub token)")
    if repo.count("/") != 1:
        raise ForgeError(f"GitHub: {repo!r} is not a repository path (owner/name)")
    if github_api_url is None:
        is_dotcom = host in ("github.com", "www.github.com")
        github_api_url = "https://api.github.com" if is_dotcom else f"https://{host}/api/v3"
    return GitHubForge(github_api_url, repo, github_token, client)
