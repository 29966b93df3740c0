"""Fixes as pull requests, end to end: the real bot in pull-request mode, real git with a bare
remote, the forge stand-in (sandbox/forge/) and the local Slack workspace. Approved edits become
commits on the thread's branch in its own worktree (the operator's checkout is never touched);
an approved open_pull_request pushes the branch and opens one pull request whose link the
thread shows; a follow-up comments on it; a kill between push and open repeats neither."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.forge.server import RunningForge, start_forge
from sandbox.forge.state import ForgeConfig
from sandbox.model.server import start_model_server
from sandbox.slack.app import start_slack
from sandbox.slack.server import SandboxConfig, SlackSandbox
from tests.e2e.test_crash_matrix import serve
from tests.slackbot import CHANNEL, card_with, running_bot, thread, wait_for
from tests.support import scripted

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
TOKEN = "ghp_E2eForgeTokenNeverShown0123456789ab"
BUGGY = "def add(a, b):\n    return a - b\n"
TEST = "from app import add\nassert add(2, 3) == 5, add(2, 3)\nprint('tests passed')\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com",
                           *args], cwd=cwd, check=True, capture_output=True, text=True)  # fmt: skip
    return done.stdout


@dataclass
class Repo:
    bare: Path
    checkout: Path
    pushes: Path  # one line per push the remote received (its post-receive hook)

    def branches(self) -> list[str]:
        out = git(self.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/opsbot/")
        return out.split()

    def log(self, branch: str) -> str:
        return git(self.bare, "log", "--format=%s%n%b%n--", f"main..{branch}")


def make_repo(root: Path) -> Repo:
    """A bare `acme/shop` remote with a buggy add() and its test; the operator's clone."""
    bare = root / "remote" / "acme" / "shop.git"
    bare.mkdir(parents=True)
    git(bare, "init", "--quiet", "--bare", "-b", "main")
    pushes = root / "pushes.log"
    hook = bare / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\ncat >> {pushes}\n")
    hook.chmod(0o755)
    seed = root / "seed"
    git(root, "clone", "--quiet", str(bare), str(seed))
    (seed / "app.py").write_text(BUGGY)
    (seed / "test_app.py").write_text(TEST)
    (seed / "logs").mkdir()
    (seed / "logs" / "app.log").write_text("2026-12-01T10:00:00Z ERROR add(2, 3) returned -1\n")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "The shop")
    git(seed, "push", "--quiet", "origin", "main")
    pushes.unlink()
    checkout = root / "checkout"
    git(root, "clone", "--quiet", str(bare), str(checkout))
    return Repo(bare, checkout, pushes)


def fix_turn(match: str, old: str, new: str, title: str) -> dict[str, Any]:
    return {"match": match, "router": [{"agent": "coding", "reason": "fix add()"}],
            "coding": [
                {"text": "Fixing add().", "tool_calls": [{"name": "edit_file", "input": {
                    "path": "app.py", "old_string": old, "new_string": new}}]},
                {"text": "Running the tests.", "tool_calls": [{"name": "shell_execute",
                    "input": {"command": "python3 test_app.py"}}]},
                {"text": "Proposing it.", "tool_calls": [{"name": "open_pull_request", "input": {
                    "title": title, "summary": "add() subtracted: checkout totals were wrong.",
                    "findings": "logs/app.log: add(2, 3) returned -1",
                    "tests": "python3 test_app.py: tests passed"}}]},
                {"text": "The fix is proposed for review."}]}  # fmt: skip


FLOW = ["edit_file", "shell_execute", "open_pull_request"]
TURNS = [fix_turn("totals", "a - b", "a + b", "Fix add(): it subtracted"),
         fix_turn("b \\+ a", "    return a + b\n", "    return b + a\n", "unused")]  # fmt: skip


@asynccontextmanager
async def forge_for(repo: Repo) -> AsyncIterator[RunningForge]:
    forge = await start_forge(ForgeConfig(tokens={TOKEN: "write"}, repos={"acme/shop": "main"},
                                          git_dirs={"acme/shop": repo.bare}))  # fmt: skip
    try:
        yield forge
    finally:
        await forge.stop()


def pr_settings(forge: RunningForge) -> dict[str, Any]:
    return {"change_mode": "pull_request", "github_api_url": forge.url, "github_token": TOKEN,
            "approvers": ["U0LEAD"]}  # fmt: skip


def has_buttons(sandbox: SlackSandbox, root_ts: str, ts: str) -> bool:
    return any(m["ts"] == ts and any(b.get("type") == "actions" for b in m["blocks"] or [])
               for m in thread(sandbox, root_ts))  # fmt: skip


async def approve_each(sandbox: SlackSandbox, root_ts: str, names: list[str]) -> None:
    """Approve the cards of these tools, in order, as an approver (not the requester)."""
    for name in names:
        card = await wait_for(sandbox, lambda n=name: card_with(sandbox, root_ts, n), 60)
        await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda c=card: not has_buttons(sandbox, root_ts, c["ts"]), 30)


def shown(sandbox: SlackSandbox, root_ts: str) -> str:
    return "\n".join(str(m.get("text")) + str(m.get("blocks")) for m in thread(sandbox, root_ts))


def answered(sandbox: SlackSandbox, root_ts: str, count: int = 1) -> bool:
    return len([m for m in thread(sandbox, root_ts) if "tokens" in str(m["blocks"])]) >= count


async def test_an_approved_fix_becomes_a_pull_request_and_a_follow_up_comments_on_it(
    database_url: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    head_before = git(repo.checkout, "rev-parse", "HEAD")
    model = await start_model_server(scripted(TURNS, tokens_per_second=400))
    try:
        async with forge_for(repo) as forge, running_bot(
            database_url, repo.checkout, model.url, **pr_settings(forge)
        ) as slack:  # fmt: skip
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout totals are off")
            await approve_each(sandbox, root.ts, FLOW[:2])
            card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, FLOW[2]), 60)
            shown_card = str(card["blocks"])
            for part in (
                "Exactly what will be pushed and proposed",
                "Title: Fix add(): it",
                "1 commit(s) on main",
                "Change app.py",
                "## Findings",
            ):
                assert part in shown_card, part
            await approve_each(sandbox, root.ts, FLOW[2:])
            await wait_for(sandbox, lambda: answered(sandbox, root.ts), 60)

            [pull] = forge.state.pulls
            [branch] = repo.branches()
            assert (pull.branch, pull.base) == (branch, "main")
            assert pull.title == "Fix add(): it subtracted"
            for part in (
                root.ts,
                "Slack thread:",
                "## Findings",
                "add(2, 3) returned -1",
                "## Tests",
                "tests passed",
                "## Commits",
                "Change app.py",
            ):
                assert part in pull.body
            log = repo.log(branch)
            assert "Change app.py" in log
            assert "Approved-by: Slack user U0LEAD" in log
            assert f"Slack-Thread: https://app.slack.com/client/T0SANDBOX/{CHANNEL}/thread/" in log
            assert root.ts in log
            text = shown(sandbox, root.ts)
            assert "pull request #1 opened" in text, "the thread shows the pull request"
            assert TOKEN not in text
            assert TOKEN not in str(sandbox.calls)

            await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> also make it b + a",
                                  thread_ts=root.ts)  # fmt: skip
            await approve_each(sandbox, root.ts, FLOW)
            await wait_for(sandbox, lambda: answered(sandbox, root.ts, 2), 60)

            assert len(forge.state.pulls) == 1, "a follow-up comments, it opens nothing new"
            [comment] = forge.state.comments
            assert "1 more commit(s)" in comment.body
            assert root.ts in comment.body
            assert repo.log(branch).count("Change app.py") == 2
            assert "updated (1 new commit(s))" in shown(sandbox, root.ts)
    finally:
        await model.stop()
    assert git(repo.checkout, "rev-parse", "HEAD") == head_before
    assert git(repo.checkout, "status", "--porcelain") == ""
    assert (repo.checkout / "app.py").read_text() == BUGGY, "the operator's checkout is untouched"
    assert len(repo.pushes.read_text().splitlines()) == 2, "one push per approved proposal"


@pytest.mark.parametrize("fault", ["after_push", "after_pull_request"])
async def test_a_kill_after_the_push_or_the_open_pushes_once_and_opens_one_pull_request(
    database_url: str, tmp_path: Path, fault: str
) -> None:
    """Killed after the push (the open follows at the restart) or after the open (the restart
    finds the pull request and reuses it, commenting nothing)."""
    repo = make_repo(tmp_path)
    slack = await start_slack(SandboxConfig())
    model = await start_model_server(scripted(TURNS[:1], tokens_per_second=400))
    env = {"OPSBOT_CHANGE_MODE": "pull_request", "GITHUB_TOKEN": TOKEN}
    try:
        async with forge_for(repo) as forge:
            env["GITHUB_API_URL"] = forge.url
            first = await serve(slack, model, repo.checkout, database_url, fault,
                                extra_env=env)  # fmt: skip
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout totals are off")
            await approve_each(sandbox, root.ts, FLOW)
            assert await asyncio.wait_for(first.wait(), 60) != 0, "killed after the push"
            assert len(repo.pushes.read_text().splitlines()) == 1
            assert len(forge.state.pulls) == (fault == "after_pull_request")

            second = await serve(slack, model, repo.checkout, database_url, None, extra_env=env)
            try:
                await wait_for(sandbox, lambda: answered(sandbox, root.ts), 90)
            finally:
                second.terminate()
                await second.wait()
            assert len(forge.state.pulls) == 1
            assert sum(forge.state.create_calls.values()) == 1
            assert len(repo.pushes.read_text().splitlines()) == 1, "pushed once"
            assert forge.state.comments == []
            said = "opened" if fault == "after_push" else "is open"  # found again and reused
            assert f"pull request #1 {said}: {forge.url.rstrip('/')}/acme/shop/pull/1" in shown(
                sandbox, root.ts
            )
    finally:
        await model.stop()
        await slack.stop()


def edit_and_open(title: str) -> dict[str, Any]:
    """A turn without a test run: the edit, then open_pull_request."""
    turn = fix_turn("totals", "a - b", "a + b", title)
    turn["coding"] = [turn["coding"][0], *turn["coding"][2:]]
    return turn


async def test_on_gitlab_the_fix_becomes_a_merge_request(database_url: str, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    model = await start_model_server(scripted([edit_and_open("Fix add()")], tokens_per_second=400))
    try:
        async with forge_for(repo) as forge, running_bot(
            database_url, repo.checkout, model.url, change_mode="pull_request",
            gitlab_url=forge.url, gitlab_token=TOKEN, approvers=["U0LEAD"],
        ) as slack:  # fmt: skip
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout totals are off")
            await approve_each(sandbox, root.ts, ["edit_file", "open_pull_request"])
            await wait_for(sandbox, lambda: answered(sandbox, root.ts), 60)
            [merge_request] = forge.state.pulls
            assert merge_request.branch == repo.branches()[0]
            assert "Change app.py" in merge_request.body
            link = f"{forge.url.rstrip('/')}/acme/shop/-/merge_requests/1"
            assert f"merge request #1 opened: {link}" in shown(sandbox, root.ts)
            sent = [v for h in forge.state.headers for k, v in h.items()
                    if k.lower() == "private-token"]  # fmt: skip
            assert sent, "GitLab's PRIVATE-TOKEN header carries the token"
            assert set(sent) == {TOKEN}
    finally:
        await model.stop()


@pytest.mark.parametrize(
    ("fault", "line"),
    [
        ({"status": 403, "body": {"message": "Resource not accessible by integration"}},
         "GitHub: the token may not open pull requests on acme/shop"),
        ({"rate_limit": True}, "GitHub: rate limit reached"),
        ({"status": 502, "body": "<html>bad gateway</html>"}, "GitHub"),
    ],
)  # fmt: skip
async def test_a_forge_refusal_reaches_the_thread_in_one_line_and_the_run_ends(
    database_url: str, tmp_path: Path, fault: dict[str, Any], line: str
) -> None:
    repo = make_repo(tmp_path)
    model = await start_model_server(scripted([edit_and_open("Fix add()")], tokens_per_second=400))
    try:
        async with forge_for(repo) as forge, running_bot(
            database_url, repo.checkout, model.url, **pr_settings(forge)
        ) as slack:  # fmt: skip
            if fault.get("rate_limit"):
                forge.state.rate_limit("POST /repos/acme/shop/pulls", times=5)
            else:
                forge.state.fail_next("POST /repos/acme/shop/pulls", fault["status"],
                                      fault["body"], times=5)  # fmt: skip
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout totals are off")
            await approve_each(sandbox, root.ts, ["edit_file", "open_pull_request"])
            await wait_for(sandbox, lambda: answered(sandbox, root.ts), 60)
            text = shown(sandbox, root.ts)
            errors = [m for m in thread(sandbox, root.ts) if line in str(m["blocks"])]
            assert errors, f"{line!r} not in the thread"
            assert TOKEN not in text
            assert forge.state.pulls == []
            assert repo.branches(), "the branch was pushed; opening it can be approved again"
    finally:
        await model.stop()


async def test_as_a_github_app_the_pull_request_is_opened_with_an_installation_token(
    database_url: str, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    public = key.public_key().public_bytes(serialization.Encoding.PEM, spki)
    (tmp_path / "app.pem").write_text(private)
    repo = make_repo(tmp_path)
    config = ForgeConfig(tokens={}, repos={"acme/shop": "main"},
                         git_dirs={"acme/shop": repo.bare}, apps={"4242": public.decode()},
                         installations={"acme/shop": 77})  # fmt: skip
    forge = await start_forge(config)
    model = await start_model_server(scripted([edit_and_open("Fix add()")], tokens_per_second=400))
    try:
        async with running_bot(
            database_url, repo.checkout, model.url, change_mode="pull_request",
            github_api_url=forge.url, github_app_id="4242",
            github_app_private_key=str(tmp_path / "app.pem"), approvers=["U0LEAD"],
        ) as slack:  # fmt: skip
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout totals are off")
            await approve_each(sandbox, root.ts, ["edit_file", "open_pull_request"])
            await wait_for(sandbox, lambda: answered(sandbox, root.ts), 60)
            assert len(forge.state.pulls) == 1
            assert "pull request #1 opened" in shown(sandbox, root.ts)
            made = [r for r in forge.state.requests if "/access_tokens" in r]
            assert len(made) == 1, "one installation token, cached for every later request"
            said = str(sandbox.calls)
            assert "ghs_" not in said
            assert "PRIVATE KEY" not in said
    finally:
        await model.stop()
        await forge.stop()
