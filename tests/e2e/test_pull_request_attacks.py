"""Pull-request mode attacked through the whole bot: a model that has an approver approve a
write of the worktree's `.git` file (pointing it at the operator's checkout), then a real fix,
then a proposal the remote's pre-receive hook refuses (a protected branch). The operator's
checkout keeps its HEAD, index, files and branches; the refusal is one clear line in the thread
without the token; the run ends with an answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.model.server import start_model_server
from tests.e2e.test_pull_requests import (
    BUGGY,
    TOKEN,
    answered,
    approve_each,
    forge_for,
    git,
    make_repo,
    pr_settings,
    shown,
)
from tests.slackbot import CHANNEL, running_bot, wait_for
from tests.support import scripted

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
REFUSAL = "GH006: Protected branch update failed for refs/heads/opsbot"


def operator_view(checkout: Path) -> dict[str, str]:
    """HEAD, status, index, main and the branches other than opsbot's, as the operator sees."""
    view = {what: git(checkout, *args).strip() for what, args in {
        "head": ("rev-parse", "HEAD"), "status": ("status", "--porcelain"),
        "index": ("ls-files", "--stage"), "main": ("rev-parse", "refs/heads/main"),
        "branches": ("for-each-ref", "--format=%(refname)", "refs/heads"),
    }.items()}  # fmt: skip
    view["branches"] = " ".join(b for b in view["branches"].split() if "/opsbot/" not in b)
    return view


def attack_turn(checkout: Path) -> dict[str, Any]:
    return {"match": "totals", "router": [{"agent": "coding", "reason": "fix add()"}],
            "coding": [
                {"text": "Setting up.", "tool_calls": [{"name": "write_file", "input": {
                    "path": ".git", "content": f"gitdir: {checkout / '.git'}\n"}}]},
                {"text": "Fixing add().", "tool_calls": [{"name": "edit_file", "input": {
                    "path": "app.py", "old_string": "a - b", "new_string": "a + b"}}]},
                {"text": "Proposing it.", "tool_calls": [{"name": "open_pull_request", "input": {
                    "title": "<!channel> Fix add()\nsecond line", "summary": "add() subtracted.",
                    "tests": "not run"}}]},
                {"text": "The push was refused."}]}  # fmt: skip


async def test_a_git_file_write_and_a_refused_push_leave_the_checkout_and_say_one_line(
    database_url: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    hook = repo.bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho '{REFUSAL}' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = operator_view(repo.checkout)
    model = await start_model_server(scripted([attack_turn(repo.checkout)], tokens_per_second=400))
    try:
        async with forge_for(repo) as forge, running_bot(
            database_url, repo.checkout, model.url, **pr_settings(forge)
        ) as slack:  # fmt: skip
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout totals are off")
            await approve_each(sandbox, root.ts, ["write_file", "edit_file", "open_pull_request"])
            await wait_for(sandbox, lambda: answered(sandbox, root.ts), 60)
            text = shown(sandbox, root.ts)
            assert "not committed" in text, "the .git write is reported, never committed"
            assert text.count("GH006: Protected branch update failed") == 1, text
            assert "was not pushed" in text
            assert TOKEN not in text
            assert TOKEN not in str(sandbox.calls)
            assert forge.state.pulls == []
    finally:
        await model.stop()
    assert operator_view(repo.checkout) == before
    assert (repo.checkout / "app.py").read_text() == BUGGY
    [branch] = [b for b in git(repo.checkout, "branch", "--format=%(refname:short)").split()
                if b.startswith("opsbot/")]  # fmt: skip
    assert "Change app.py" in git(repo.checkout, "log", "--format=%s", f"main..{branch}")
