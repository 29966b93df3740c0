"""GitHub's REST answers (API version 2022-11-28) for the routes opsbot calls, served from
ForgeState (GitHub App routes: sandbox/forge/apps.py). Answers follow
https://docs.github.com/rest/pulls/pulls,
https://docs.github.com/rest/issues/comments and https://docs.github.com/rest/repos/repos."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from sandbox.forge.apps import serve_app
from sandbox.forge.state import Comment, ForgeState, Pull

DOCS = "https://docs.github.com/rest"
BODY_LIMIT = 65_536
ROUTE = re.compile(r"^/repos/([^/]+)/([^/]+)(/pulls|/issues/(\d+)/comments)?$")


def error(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> web.Response:
    """GitHub's error body: message, optional errors[], documentation_url, status."""
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status)


def _invalid(*errors: dict[str, Any]) -> web.Response:
    return error(422, "Validation Failed", [{"resource": "PullRequest", **e} for e in errors])


def _pull_json(pull: Pull, site: str) -> dict[str, Any]:
    owner = pull.repo.split("/")[0]
    return {
        "number": pull.number, "state": pull.state, "title": pull.title, "body": pull.body,
        "html_url": f"{site}/{pull.repo}/pull/{pull.number}",
        "head": {"ref": pull.branch, "label": f"{owner}:{pull.branch}"},
        "base": {"ref": pull.base, "label": f"{owner}:{pull.base}"},
    }  # fmt: skip


def _token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "token") and token.strip() else None


async def serve(request: web.Request, state: ForgeState, path: str) -> web.Response:
    """Answer `path` (the raw path under / or /api/v3) as GitHub would."""
    site = f"http://{request.host}"
    token = _token(request)
    app_answer = serve_app(state, request.method, path, token)
    if app_answer is not None:
        return app_answer
    match = ROUTE.match(path)
    if match is None:
        return error(404, "Not Found")
    if token is None:
        return error(401, "Requires authentication")
    access = state.access(token)
    if access is None:
        return error(401, "Bad credentials")
    repo = f"{match[1]}/{match[2]}"
    if repo not in state.config.repos:
        return error(404, "Not Found")
    if match[3] is None and request.method == "GET":
        return web.json_response({"full_name": repo, "default_branch": state.config.repos[repo]})
    if match[3] == "/pulls" and request.method == "GET":
        query = parse_qs(request.query_string)
        head = query.get("head", [""])[0]
        wanted = query.get("state", ["open"])[0]
        found = [
            _pull_json(p, site) for p in state.pulls
            if p.repo == repo and (wanted == "all" or p.state == wanted)
            and (not head or head == f"{match[1]}:{p.branch}")
        ]  # fmt: skip
        return web.json_response(found)
    if request.method != "POST":
        return error(404, "Not Found")
    if access != "write":
        return error(403, "Resource not accessible by integration")
    try:
        body = await request.json()
    except ValueError:
        return error(400, "Problems parsing JSON")
    if not isinstance(body, dict):
        return error(400, "Problems parsing JSON")
    if match[3] == "/pulls":
        state.create_calls[repo] += 1
        return await _create(state, repo, match[1], body, site)
    number = int(match[4])
    if not any(p.repo == repo and p.number == number for p in state.pulls):
        return error(404, "Not Found")
    text = body.get("body")
    if not isinstance(text, str) or not text:
        return _invalid({"field": "body", "code": "missing_field"})
    comment_id = state.next_id()
    state.comments.append(Comment(repo, number, comment_id, text))
    url = f"{site}/{repo}/pull/{number}#issuecomment-{comment_id}"
    return web.json_response({"id": comment_id, "body": text, "html_url": url}, status=201)


async def _create(
    state: ForgeState, repo: str, owner: str, body: dict[str, Any], site: str
) -> web.Response:
    missing = [f for f in ("title", "head", "base") if not isinstance(body.get(f), str)]
    if missing:
        return _invalid(*({"field": f, "code": "missing_field"} for f in missing))
    head: str = body["head"].removeprefix(f"{owner}:")
    base: str = body["base"]
    text = body.get("body") or ""
    if len(text) > BODY_LIMIT:
        message = f"body is too long (maximum is {BODY_LIMIT} characters)"
        return _invalid({"code": "custom", "field": "body", "message": message})
    for field, branch in (("head", head), ("base", base)):
        if not await asyncio.to_thread(state.branch_exists, repo, branch):
            return _invalid({"field": field, "code": "invalid"})
    if head == base:
        return _invalid({"code": "custom", "message": f"No commits between {base} and {head}"})
    if state.open_pull(repo, head) is not None:
        message = f"A pull request already exists for {owner}:{head}."
        return _invalid({"code": "custom", "message": message})
    pull = state.add_pull(repo, head, base, body["title"], text)
    return web.json_response(_pull_json(pull, site), status=201)
