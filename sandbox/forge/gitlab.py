"""GitLab's REST API v4 answers for the routes opsbot calls, served from ForgeState. Answers
follow https://docs.gitlab.com/api/merge_requests/, https://docs.gitlab.com/api/notes/ and
https://docs.gitlab.com/api/rest/troubleshooting/ (status codes and {"message": ...} bodies)."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qs, unquote

from aiohttp import web

from sandbox.forge.state import Comment, ForgeState, Pull

BODY_LIMIT = 1_048_576
# The project id is one path segment: a full path must come URL-encoded (group%2Fsub%2Fapp).
ROUTE = re.compile(r"^/projects/([^/]+)(/merge_requests(?:/(\d+)/notes)?)?$")


def error(status: int, message: Any, key: str = "message") -> web.Response:
    """GitLab's error body: {"message": "404 Project Not Found"} (or {"error": ...})."""
    return web.json_response({key: message}, status=status)


def _mr_json(pull: Pull, site: str) -> dict[str, Any]:
    return {
        "id": 5000 + pull.number, "iid": pull.number, "title": pull.title,
        "description": pull.body, "state": "opened" if pull.state == "open" else pull.state,
        "source_branch": pull.branch, "target_branch": pull.base,
        "web_url": f"{site}/{pull.repo}/-/merge_requests/{pull.number}",
    }  # fmt: skip


def _token(request: web.Request) -> str | None:
    token = request.headers.get("PRIVATE-TOKEN", "").strip()
    if token:
        return token
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    return bearer.strip() if scheme.lower() == "bearer" and bearer.strip() else None


async def serve(request: web.Request, state: ForgeState, path: str) -> web.Response:
    """Answer `path` (the raw path under /api/v4) as GitLab would."""
    site = f"http://{request.host}"
    match = ROUTE.match(path)
    if match is None:
        return error(404, "404 Not Found")
    token = _token(request)
    access = state.config.tokens.get(token or "")
    if access is None:
        return error(401, "401 Unauthorized")
    repo = unquote(match[1])
    if repo not in state.config.repos:
        return error(404, "404 Project Not Found")
    if match[2] is None and request.method == "GET":
        return web.json_response({"path_with_namespace": repo,
                                  "default_branch": state.config.repos[repo]})  # fmt: skip
    if match[2] == "/merge_requests" and request.method == "GET":
        query = parse_qs(request.query_string)
        branch = query.get("source_branch", [""])[0]
        wanted = query.get("state", ["all"])[0]
        found = [
            _mr_json(p, site) for p in state.pulls
            if p.repo == repo and (not branch or p.branch == branch)
            and (wanted == "all" or _mr_json(p, site)["state"] == wanted)
        ]  # fmt: skip
        return web.json_response(found)
    if request.method != "POST":
        return error(405, "405 Method Not Allowed")
    if access != "write":
        return error(403, "403 Forbidden")
    try:
        body = await request.json()
    except ValueError:
        return error(400, "body is invalid", key="error")
    if not isinstance(body, dict):
        return error(400, "body is invalid", key="error")
    if match[3] is None:
        state.create_calls[repo] += 1
        return await _create(state, repo, body, site)
    number = int(match[3])
    if not any(p.repo == repo and p.number == number for p in state.pulls):
        return error(404, "404 Not found")
    text = body.get("body")
    if not isinstance(text, str) or not text:
        return error(400, "body is missing", key="error")
    note_id = state.next_id()
    state.comments.append(Comment(repo, number, note_id, text))
    return web.json_response({"id": note_id, "body": text, "noteable_type": "MergeRequest",
                              "noteable_iid": number}, status=201)  # fmt: skip


async def _create(state: ForgeState, repo: str, body: dict[str, Any], site: str) -> web.Response:
    for field in ("source_branch", "target_branch", "title"):
        if not isinstance(body.get(field), str) or not body[field]:
            return error(400, f"{field} is missing", key="error")
    source: str = body["source_branch"]
    target: str = body["target_branch"]
    text = body.get("description") or ""
    if len(text) > BODY_LIMIT:
        return error(400, {"description": [f"is too long (maximum is {BODY_LIMIT} characters)"]})
    for what, branch in (("Source", source), ("Target", target)):
        if not await asyncio.to_thread(state.branch_exists, repo, branch):
            return error(422, [f'{what} branch "{branch}" does not exist'])
    if source == target:
        return error(422, ["You can't use same project/branch for source and target"])
    existing = state.open_pull(repo, source)
    if existing is not None:
        message = "Another open merge request already exists for this source branch"
        return error(409, [f"{message}: !{existing.number}"])
    pull = state.add_pull(repo, source, target, body["title"], text)
    return web.json_response(_mr_json(pull, site), status=201)
