"""The forge clients (tools/changes/) against the stand-in GitHub and GitLab (sandbox/forge/)
over real HTTP on 127.0.0.1: open, find, comment, no second pull request after a retry, and one
clear line without the token for every error answer."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from sandbox.forge.server import ForgeConfig, RunningForge, start_forge
from tools.changes.forge import Forge, ForgeError, make_forge

TOKEN = "ghp_s3cretTOKENvalue0123456789"
READ_TOKEN = "glpat-readONLYtoken987654321"
WRONG_TOKEN = "ghp_wrongWRONGwrong000000000"
REPOS = {"acme/shop": "main", "group/sub/app": "trunk", "acme/checked": "main"}


def _bare_repo(tmp_path: Path) -> Path:
    """A bare repository with branches main and opsbot/r1 (for the head branch check)."""
    work, bare = tmp_path / "work", tmp_path / "checked.git"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    (work / "README").write_text("hi\n")
    subprocess.run([*git, "-C", str(work), "add", "README"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "first"], check=True)
    subprocess.run([*git, "-C", str(work), "branch", "opsbot/r1"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


@pytest.fixture
async def forge(tmp_path: Path) -> AsyncIterator[RunningForge]:
    """The stand-in with a write token, a read-only token, and acme/checked's bare repo."""
    config = ForgeConfig(
        tokens={TOKEN: "write", READ_TOKEN: "read"},
        repos=dict(REPOS),
        git_dirs={"acme/checked": _bare_repo(tmp_path)},
    )
    running = await start_forge(config)
    yield running
    await running.stop()


def github(url: str, repo: str = "acme/shop", token: str | None = TOKEN, **kw: Any) -> Forge:
    return make_forge("github.example.com", repo, github_api_url=url, github_token=token,
                      gitlab_url=None, gitlab_token=None, **kw)  # fmt: skip


def gitlab(url: str, repo: str = "group/sub/app", token: str | None = TOKEN, **kw: Any) -> Forge:
    return make_forge("127.0.0.1", repo, github_api_url=None, github_token=None,
                      gitlab_url=url, gitlab_token=token, **kw)  # fmt: skip


MAKERS = {"github": github, "gitlab": gitlab}


async def _failure(call: Awaitable[Any]) -> str:
    """The ForgeError line `call` raises; asserts it is one line without any token."""
    with pytest.raises(ForgeError) as caught:
        await call
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(("GitHub: ", "GitLab: "))
    for token in (TOKEN, READ_TOKEN, WRONG_TOKEN):
        assert token not in line
    return line


@pytest.mark.parametrize("kind", ["github", "gitlab"])
async def test_open_then_find_then_comment(forge: RunningForge, kind: str) -> None:
    client = MAKERS[kind](forge.url)
    base = await client.default_branch()
    opened = await client.open("opsbot/r1", base, "Fix the checkout 500", "Because **x**.")
    found = await client.find_open("opsbot/r1")
    url = await client.comment(opened.number, "Pushed one more commit.")

    assert (client.kind, base) == (kind, {"github": "main", "gitlab": "trunk"}[kind])
    assert found == opened
    assert (opened.number, opened.branch, opened.base) == (1, "opsbot/r1", base)
    assert await client.find_open("opsbot/other") is None
    pull = forge.state.pulls[0]
    assert (pull.title, pull.body) == ("Fix the checkout 500", "Because **x**.")
    assert [c.body for c in forge.state.comments] == ["Pushed one more commit."]
    if kind == "github":
        assert opened.url == f"{forge.url}/acme/shop/pull/1"
        assert url.startswith(f"{forge.url}/acme/shop/pull/1#issuecomment-")
        headers = forge.state.headers[-1]
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["Accept"] == "application/vnd.github+json"
        assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    else:
        assert opened.url == f"{forge.url}/group/sub/app/-/merge_requests/1"
        assert url.startswith(f"{forge.url}/group/sub/app/-/merge_requests/1#note_")
        assert forge.state.headers[-1]["PRIVATE-TOKEN"] == TOKEN
        # The nested path travels as one URL-encoded segment.
        assert "POST /api/v4/projects/group%2Fsub%2Fapp/merge_requests" in forge.state.requests


@pytest.mark.parametrize("kind", ["github", "gitlab"])
async def test_opening_again_after_a_crash_returns_the_open_one(
    forge: RunningForge, kind: str
) -> None:
    first = await MAKERS[kind](forge.url).open("opsbot/r1", "main", "Fix", "one")
    # A new client, as after a restart: the record of `first` was lost.
    again = await MAKERS[kind](forge.url).open("opsbot/r1", "main", "Fix", "two")
    other = await MAKERS[kind](forge.url).open("opsbot/r2", "main", "Fix 2", "three")

    assert again == first
    assert other.number == first.number + 1
    assert len(forge.state.pulls) == 2
    assert sum(forge.state.create_calls.values()) == 3


async def test_github_enterprise_base_is_api_v3(forge: RunningForge) -> None:
    client = github(f"{forge.url}/api/v3")
    opened = await client.open("opsbot/r1", await client.default_branch(), "Fix", "body")

    assert opened.number == 1
    assert await client.find_open("opsbot/r1") == opened
    assert all(r.split(" ")[1].startswith("/api/v3/repos/acme/shop") for r in forge.state.requests)


async def test_long_bodies_are_cut_with_a_note_at_the_forge_limit(forge: RunningForge) -> None:
    await github(forge.url).open("opsbot/r1", "main", "Fix", "x" * 70_000)
    await gitlab(forge.url).open("opsbot/r1", "trunk", "Fix", "y" * 70_000)
    await github(forge.url).comment(1, "z" * 100_000)

    github_body, gitlab_body = forge.state.pulls[0].body, forge.state.pulls[1].body
    assert len(github_body) == 65_536
    assert github_body.endswith("over GitHub's 65,536 limit)")
    assert gitlab_body == "y" * 70_000
    assert len(forge.state.comments[0].body) == 65_536


async def test_head_branch_missing_from_the_repository_is_refused(forge: RunningForge) -> None:
    checked = github(forge.url, "acme/checked")
    ok = await checked.open("opsbot/r1", "main", "Fix", "body")
    head = await _failure(checked.open("opsbot/never-pushed", "main", "Fix", "body"))
    base = await _failure(checked.open("opsbot/r1", "release-9", "Fix", "body"))

    assert ok.number == 1
    assert head == (
        "GitHub: refused to open pull requests on acme/checked "
        "(422 Validation Failed: head invalid)"
    )
    assert base.endswith("(422 Validation Failed: base invalid)")


Case = Callable[[RunningForge], Awaitable[Any]]


def _after(route: str, status: int, body: Any, call: Case) -> Case:
    """`call`, after asking the stand-in to answer the next `route` with `status` and `body`."""

    def case(forge: RunningForge) -> Awaitable[Any]:
        forge.state.fail_next(route, status, body)
        return call(forge)

    return case


async def _read_token_opens(forge: RunningForge, kind: str) -> Any:
    return await MAKERS[kind](forge.url, token=READ_TOKEN).open("opsbot/r1", "main", "t", "b")


ERRORS: list[tuple[str, Case, str]] = [
    # 401: a wrong token, and an answer that echoes the token back.
    ("401", lambda f: github(f.url, token=WRONG_TOKEN).default_branch(),
     "GitHub: the token was refused; it may be wrong or expired (401 Bad credentials)"),
    ("401", lambda f: gitlab(f.url, token=WRONG_TOKEN).find_open("b"),
     "GitLab: the token was refused; it may be wrong or expired (401 Unauthorized)"),
    ("401", _after("GET /repos/acme/shop", 401, {"message": f"Bad token {TOKEN}"},
                   lambda f: github(f.url).default_branch()),
     "GitHub: the token was refused; it may be wrong or expired (401 Bad token [token])"),
    # 403: the token may read but not write.
    ("403", lambda f: _read_token_opens(f, "github"),
     "GitHub: the token may not open pull requests on acme/shop "
     "(403 Resource not accessible by integration)"),
    ("403", lambda f: _read_token_opens(f, "gitlab"),
     "GitLab: the token may not open merge requests on group/sub/app (403 Forbidden)"),
    ("403", lambda f: github(f.url, token=READ_TOKEN).comment(1, "hi"),
     "GitHub: the token may not comment on pull requests of acme/shop "
     "(403 Resource not accessible by integration)"),
    # 404: a repository that does not exist or the token cannot see, a missing pull request.
    ("404", lambda f: github(f.url, "acme/hidden").default_branch(),
     "GitHub: acme/hidden was not found, or the token cannot see it (404 Not Found)"),
    ("404", lambda f: gitlab(f.url, "group/hidden").open("b", "main", "t", "b"),
     "GitLab: group/hidden was not found, or the token cannot see it (404 Project Not Found)"),
    ("404", lambda f: gitlab(f.url).comment(77, "hi"),
     "GitLab: group/sub/app was not found, or the token cannot see it (404 Not found)"),
    # 422 / 409 that are not "already open" (or whose open one cannot be found).
    ("422", lambda f: github(f.url).open("main", "main", "t", "b"),
     "GitHub: refused to open pull requests on acme/shop "
     "(422 Validation Failed: No commits between main and main)"),
    ("422", _after("POST /repos/acme/shop/pulls", 422, {
        "message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
        "message": "A pull request already exists for acme:opsbot/r1."}]},
        lambda f: github(f.url).open("opsbot/r1", "main", "t", "b")),
     "GitHub: refused to open pull requests on acme/shop "
     "(422 Validation Failed: A pull request already exists for acme:opsbot/r1.)"),
    ("409", _after(
        "POST /api/v4/projects/group%2Fsub%2Fapp/merge_requests", 409,
        {"message": ["Another open merge request already exists for this source branch: !4"]},
        lambda f: gitlab(f.url).open("opsbot/r1", "trunk", "t", "b")),
     "GitLab: refused to open merge requests on group/sub/app "
     "(409 Another open merge request already exists for this source branch: !4)"),
    ("422", lambda f: gitlab(f.url).open("trunk", "trunk", "t", "b"),
     "GitLab: refused to open merge requests on group/sub/app "
     "(422 You can't use same project/branch for source and target)"),
    # 5xx.
    ("500", _after("GET /repos/acme/shop", 500, {"message": "Server Error"},
                   lambda f: github(f.url).default_branch()),
     "GitHub: server error, try again later (500 Server Error)"),
    ("500", _after("*", 502, "<html>\n<h1>502 Bad Gateway</h1>\n</html>",
                   lambda f: gitlab(f.url).default_branch()),
     "GitLab: server error, try again later (502 Bad Gateway)"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "case", "line"), ERRORS, ids=[e[0] for e in ERRORS])
async def test_error_answers_are_one_clear_line(
    forge: RunningForge, status: str, case: Case, line: str
) -> None:
    assert await _failure(case(forge)) == line


RATE_LIMITS: list[tuple[str, str, str]] = [
    ("github", "github-primary", r"GitHub: rate limit reached, resets at \d\d:\d\d UTC "
     r"\(403 API rate limit exceeded for user ID 1\.\)"),
    ("github", "github-secondary", r"GitHub: rate limit reached, retry after 60 s "
     r"\(at \d\d:\d\d UTC\) \(429 You have exceeded a secondary rate limit\. .*\)"),
    ("gitlab", "gitlab", r"GitLab: rate limit reached, retry after 60 s \(at \d\d:\d\d UTC\) "
     r"\(429 Retry later\)"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "style", "pattern"), RATE_LIMITS)
async def test_rate_limits_say_when_to_try_again(
    forge: RunningForge, kind: str, style: str, pattern: str
) -> None:
    forge.state.rate_limit("*", times=2, style=style)
    client = MAKERS[kind](forge.url)

    first = await _failure(client.open("opsbot/r1", "main", "t", "b"))
    second = await _failure(client.find_open("opsbot/r1"))
    opened = await client.open("opsbot/r1", "main", "t", "b")

    assert re.fullmatch(pattern, first), first
    assert re.fullmatch(pattern, second), second
    assert opened.number == 1


async def test_primary_rate_limit_names_the_reset_time(forge: RunningForge) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1798812120"}
    forge.state.fail_next("*", 403, {"message": "API rate limit exceeded"}, headers)
    line = await _failure(github(forge.url).default_branch())

    # 1798812120 is 2027-01-01 14:02:00 UTC.
    assert line == "GitHub: rate limit reached, resets at 14:02 UTC (403 API rate limit exceeded)"


@pytest.mark.parametrize("kind", ["github", "gitlab"])
async def test_a_stopped_forge_is_one_line(kind: str) -> None:
    stopped = await start_forge(ForgeConfig(tokens={TOKEN: "write"}))
    await stopped.stop()

    line = await _failure(MAKERS[kind](stopped.url).default_branch())

    forge_name = {"github": "GitHub", "gitlab": "GitLab"}[kind]
    assert line == f"{forge_name}: cannot connect to 127.0.0.1 (connection refused or no route)"


@pytest.mark.parametrize("kind", ["github", "gitlab"])
async def test_a_forge_that_does_not_answer_in_time_is_one_line(
    forge: RunningForge, kind: str
) -> None:
    forge.state.fail_next("*", 200, {}, delay=1.5)
    async with httpx2.AsyncClient(timeout=0.3) as client:
        line = await _failure(MAKERS[kind](forge.url, client=client).find_open("opsbot/r1"))

    assert re.fullmatch(r"Git(Hub|Lab): 127\.0\.0\.1 did not answer in time \(\w+\)", line)


@pytest.mark.parametrize(
    ("make", "line"),
    [
        (lambda: github("http://127.0.0.1:9", token=None),
         "GitHub: no token configured for acme/shop (set the GitHub token)"),
        (lambda: github("http://127.0.0.1:9", token=""),
         "GitHub: no token configured for acme/shop (set the GitHub token)"),
        (lambda: gitlab("http://127.0.0.1:9", token=None),
         "GitLab: no token configured for group/sub/app (set the GitLab token)"),
        (lambda: gitlab("http://127.0.0.1:9", token=""),
         "GitLab: no token configured for group/sub/app (set the GitLab token)"),
    ],
)  # fmt: skip
def test_a_missing_token_is_one_line(make: Callable[[], Forge], line: str) -> None:
    with pytest.raises(ForgeError) as caught:
        make()
    assert str(caught.value) == line


def test_the_forge_is_chosen_by_host() -> None:
    both: dict[str, Any] = {
        "github_api_url": None,
        "github_token": "a",
        "gitlab_url": "https://gitlab.example.com",
        "gitlab_token": "b",
    }

    assert make_forge("gitlab.example.com", "g/s/app.git", **both).kind == "gitlab"
    assert make_forge("gitlab.example.com", "g/s/app.git", **both).repo == "g/s/app"
    assert make_forge("github.com", "acme/shop", **both).kind == "github"
    only_gitlab = {**both, "github_token": None}
    assert make_forge("git.internal", "g/app", **only_gitlab).kind == "gitlab"
    only_github = {**both, "gitlab_url": None, "gitlab_token": None}
    assert make_forge("ghe.internal", "acme/shop", **only_github).kind == "github"
