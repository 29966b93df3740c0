"""GitHub (github.com and GitHub Enterprise Server at https://HOST/api/v3) as a Forge.

REST API version 2022-11-28, followed from:
- Get a repository: https://docs.github.com/rest/repos/repos#get-a-repository
- List pull requests (head=owner:branch, state=open):
  https://docs.github.com/rest/pulls/pulls#list-pull-requests
- Create a pull request (201; 422 "A pull request already exists for owner:branch."):
  https://docs.github.com/rest/pulls/pulls#create-a-pull-request
- Create an issue comment: https://docs.github.com/rest/issues/comments#create-an-issue-comment
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import httpx2

from tools.changes._http import call, error_for, json_of, truncate
from tools.changes.forge import ForgeError, PullRequest, TokenSource

BODY_LIMIT = 65_536
"""Characters GitHub accepts in a pull request body or a comment."""


def _pull_request(data: Any) -> PullRequest:
    try:
        return PullRequest(number=data["number"], url=data["html_url"],
                           branch=data["head"]["ref"], base=data["base"]["ref"])  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise ForgeError("GitHub: the pull request in the answer lacks number, "
                         "html_url, head or base") from None  # fmt: skip


class GitHubForge:
    """One GitHub repository, "owner/name", reached at `api_url` with `token`: a token, or a
    TokenSource (e.g. GitHubAppTokens) awaited before each request."""

    kind: Literal["github", "gitlab"] = "github"

    def __init__(
        self,
        api_url: str,
        repo: str,
        token: str | TokenSource,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.repo = repo
        self.owner = repo.split("/", 1)[0]
        self._base = f"{api_url.rstrip('/')}/repos/{quote(repo)}"
        self._source = token
        self._token = token if isinstance(token, str) else ""
        """The token of the last request (kept out of error lines)."""
        self._client = client

    async def _call(self, method: str, tail: str, action: str, **kwargs: Any) -> httpx2.Response:
        if not isinstance(self._source, str):
            self._token = await self._source()
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        return await call(self._client, method, self._base + tail, headers=headers,
                          forge="GitHub", repo=self.repo, action=action, token=self._token,
                          **kwargs)  # fmt: skip

    def _refused(self, response: httpx2.Response, action: str) -> ForgeError:
        return ForgeError(error_for(response, "GitHub", self.repo, action, self._token))

    async def default_branch(self) -> str:
        """The repository's default_branch; ForgeError on any failure."""
        response = await self._call("GET", "", "read")
        if response.status_code != 200:
            raise self._refused(response, "read")
        branch = json_of(response, "GitHub", "get a repository").get("default_branch")
        if not isinstance(branch, str) or not branch:
            raise ForgeError(f"GitHub: {self.repo} has no default branch (is it empty?)")
        return branch

    async def find_open(self, branch: str) -> PullRequest | None:
        """The open pull request of owner:`branch`, or None."""
        params = {"head": f"{self.owner}:{branch}", "state": "open", "per_page": "10"}
        response = await self._call("GET", "/pulls", "list pull requests of", params=params)
        if response.status_code != 200:
            raise self._refused(response, "list pull requests of")
        found = json_of(response, "GitHub", "list pull requests")
        if not isinstance(found, list):
            raise ForgeError("GitHub: the answer to list pull requests was not a list")
        for data in found:
            pull = _pull_request(data)
            if pull.branch == branch:
                return pull
        return None

    async def open(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Open `branch` -> `base`; on 422 "already exists" returns the open one (so a retry
        after a crash opens nothing twice). ForgeError on any other failure."""
        payload = {"title": title, "head": branch, "base": base,
                   "body": truncate(body, BODY_LIMIT, "GitHub")}  # fmt: skip
        response = await self._call("POST", "/pulls", "open pull requests on", json=payload)
        if response.status_code == 201:
            return _pull_request(json_of(response, "GitHub", "create a pull request"))
        if response.status_code == 422 and "already exists" in response.text:
            existing = await self.find_open(branch)
            if existing is not None:
                return existing
        raise self._refused(response, "open pull requests on")

    async def comment(self, number: int, body: str) -> str:
        """Comment on pull request `number` (an issue comment); returns its html_url."""
        payload = {"body": truncate(body, BODY_LIMIT, "GitHub")}
        action = "comment on pull requests of"
        response = await self._call("POST", f"/issues/{number}/comments", action, json=payload)
        if response.status_code != 201:
            raise self._refused(response, action)
        url = json_of(response, "GitHub", "create an issue comment").get("html_url")
        if not isinstance(url, str):
            raise ForgeError("GitHub: the comment in the answer has no html_url")
        return url
