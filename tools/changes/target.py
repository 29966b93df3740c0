"""Where a thread's approved changes go in pull-request mode, and the texts its pull request
and follow-up comments carry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tools.changes.forge import Forge

BOT_AUTHOR = ("opsbot", "opsbot@users.noreply.github.com")
MAX_LISTED_COMMITS = 50


@dataclass(frozen=True)
class ChangeTarget:
    """One thread's branch: its worktree (never the operator's checkout), the branch on the
    workspace's `origin`, the branch it is based on and proposed into, and the forge whose
    pull request (GitHub) or merge request (GitLab) proposes it."""

    forge: Forge
    checkout: Path
    """The operator's checkout (OPSBOT_WORKSPACE): its `origin` is the repository."""
    worktree: Path
    branch: str
    base: str
    thread_link: str
    """The Slack thread, as a link a reader of the pull request can open."""
    token: str | None = field(default=None, repr=False)
    """The forge token git pushes with (never shown to the model, in Slack or in a repr)."""
    approver: str | None = None
    """The Slack user who approved the call now running (set for approved calls only)."""

    @property
    def request_word(self) -> str:
        """ "pull request" on GitHub, "merge request" on GitLab."""
        return "merge request" if self.forge.kind == "gitlab" else "pull request"


def commit_trailers(target: ChangeTarget) -> list[tuple[str, str]]:
    """The trailer lines of a commit made after an approval (git-interpret-trailers(1))."""
    trailers = [("Slack-Thread", target.thread_link)]
    if target.approver:
        trailers.insert(0, ("Approved-by", f"Slack user {target.approver}"))
    return trailers


def commit_list(commits: list[tuple[str, str]]) -> str:
    """Markdown bullets of (sha, subject) pairs, the newest last, at most 50 of them."""
    shown = commits[-MAX_LISTED_COMMITS:]
    lines = [f"- {sha[:12]} {subject}" for sha, subject in shown]
    if len(commits) > len(shown):
        lines.insert(0, f"- ... {len(commits) - len(shown)} earlier commits")
    return "\n".join(lines)


# "@name" in a pull request body notifies that user or team (GitHub and GitLab both); text
# the model wrote must not page anyone: a zero-width space after the "@" keeps it readable.
_MENTION = re.compile(r"(?<![\w.`/])@(?=[A-Za-z0-9])")


def quiet_mentions(text: str) -> str:
    """`text` with each @-mention made plain text (an e-mail address stays as it is)."""
    return _MENTION.sub("@\u200b", text)


def _section(title: str, text: str) -> str:
    return f"## {title}\n\n{quiet_mentions(text.strip())}\n\n" if text.strip() else ""


def request_body(
    target: ChangeTarget, summary: str, findings: str, tests: str, commits: list[tuple[str, str]]
) -> str:
    """The body of a new pull request: the incident summary, the findings, the test results,
    the commits and the thread (Markdown, as GitHub and GitLab render it)."""
    approved = f" after approval by Slack user {target.approver}" if target.approver else ""
    return (
        _section("Summary", summary)
        + _section("Findings", findings)
        + _section("Tests", tests)
        + _section("Commits", commit_list(commits))
        + f"Slack thread: {target.thread_link}\n\n"
        + f"Opened by opsbot{approved}. Every commit here was approved in the thread.\n"
    )


def follow_up_comment(
    target: ChangeTarget, summary: str, tests: str, commits: list[tuple[str, str]]
) -> str:
    """The comment a follow-up in the thread adds to the open pull request."""
    approved = f" after approval by Slack user {target.approver}" if target.approver else ""
    pushed = (f"opsbot pushed {len(commits)} more commit(s) to `{target.branch}`{approved}:\n\n"
              + commit_list(commits) + "\n\n") if commits else ""  # fmt: skip
    return (pushed + _section("Summary", summary) + _section("Tests", tests)
            + f"Slack thread: {target.thread_link}\n")  # fmt: skip
