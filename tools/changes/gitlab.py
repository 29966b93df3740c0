"""GitLab (gitlab.com or self-managed) as a Forge, over REST API v4.

Followed from:
- Get a single project (:id is the URL-encoded full path):
  https://docs.gitlab.com/api/projects/#get-a-single-project and
  https://docs.gitlab.com/api/rest/#namespaced-paths
- List project merge requests (source_branch, state=opened):
  https://docs.gitlab.com/api/merge_requests/#list-project-merge-requests
- Create MR (201; 409 "Another open merge request already exists for this source branch"):
  https://docs.gitlab.com/api/merge_requests/#create-mr
- Create a merge request note: https://docs.gitlab.com/api/notes/#create-new-merge-request-note
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import httpx2

from tools.changes._http import call, error_for, json_of, truncate
from tools.changes.forge import ForgeError, PullRequest

BODY_LIMIT = 1_000_000
"""Characters GitLab accepts in a merge request description or a note."""


def _merge_request(data: Any) -> PullRequest:
    try:
        return PullRequest(number=data["iid"], url=data["web_url"],
                           branch=data["source_branch"], base=data["target_branch"])  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise ForgeError("GitLab: the merge request in the answer lacks iid, web_url, "
                         "source_branch or target_branch") from None  # fmt: skip


class GitLabForge:
    """One GitLab project, by full path "group/sub/name", at `gitlab_url` with `token`."""

    kind: Literal["github", "gitlab"] = "gitlab"

    def __init__(
        self, gitlab_url: str, repo: str, token: str, client: httpx2.AsyncClient | None = None
    ) -> None:
        self.repo = repo
        root = gitlab_url.rstrip("/").removesuffix("/api/v4")
        self._web = f"{root}/{repo}"
        self._base = f"{root}/api/v4/projects/{quote(repo, safe='')}"
        self._token = token
        self._client = client
        self._headers = {"PRIVATE-TOKEN": token}

    async def _call(self, method: str, tail: str, action: str, **kwargs: Any) -> httpx2.Response:
        return await call(self._client, method, self._base + tail, headers=self._headers,
                          forge="GitLab", repo=self.repo, action=action, token=self._token,
                          **kwargs)  # fmt: skip

    def _refused(self, response: httpx2.Response, action: str) -> ForgeError:
        return ForgeError(error_for(response, "GitLab", self.repo, action, self._token))

    async def default_branch(self) -> str:
        """The project's default_branch; ForgeError on any failure."""
        response = await self._call("GET", "", "read")
        if response.status_code != 200:
            raise self._refused(response, "read")
        branch = json_of(response, "GitLab", "get a project").get("default_branch")
        if not isinstance(branch, str) or not branch:
            raise ForgeError(f"GitLab: {self.repo} has no default branch (is it empty?)")
        return branch

    async def find_open(self, branch: str) -> PullRequest | None:
        """The opened merge request whose source branch is `branch`, or None."""
        params = {"source_branch": branch, "state": "opened", "per_page": "10"}
        action = "list merge requests of"
        response = await self._call("GET", "/merge_requests", action, params=params)
        if response.status_code != 200:
            raise self._refused(response, action)
        found = json_of(response, "GitLab", "list merge requests")
        if not isinstance(found, list):
            raise ForgeError("GitLab: the answer to list merge requests was not a list")
        for data in found:
            merge_request = _merge_request(data)
            if merge_request.branch == branch:
                return merge_request
        return None

    async def open(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Open a merge request `branch` -> `base`; on 409 returns the open one (a retry after
        a crash opens nothing twice). ForgeError on any other failure."""
        payload = {"source_branch": branch, "target_branch": base, "title": title,
                   "description": truncate(body, BODY_LIMIT, "GitLab")}  # fmt: skip
        action = "open merge requests on"
        response = await self._call("POST", "/merge_requests", action, json=payload)
        if response.status_code == 201:
            return _merge_request(json_of(response, "GitLab", "create a merge request"))
        if response.status_code == 409:
            existing = await self.find_open(branch)
            if existing is not None:
                return existing
        raise self._refused(response, action)

    async def comment(self, number: int, body: str) -> str:
        """Add a note to merge request iid `number`; returns the note's URL (#note_ID)."""
        payload = {"body": truncate(body, BODY_LIMIT, "GitLab")}
        action = "comment on merge requests of"
        tail = f"/merge_requests/{number}/notes"
        response = await self._call("POST", tail, action, json=payload)
        if response.status_code != 201:
            raise self._refused(response, action)
        note = json_of(response, "GitLab", "create a note").get("id")
        if not isinstance(note, int):
            raise ForgeError("GitLab: the note in the answer has no id")
        return f"{self._web}/-/merge_requests/{number}#note_{note}"
