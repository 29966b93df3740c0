"""Scoring a case in pull-request mode: each way the forge's state can fall short fails its
own check (the bundled case passing end to end is tests/e2e/test_eval.py)."""

from __future__ import annotations

import pytest

from evals.cases import PullRequestExpect
from evals.pull_requests import PullRequestsSeen
from evals.scoring import score_pull_requests

EXPECT = PullRequestExpect(count=1, title_any=["discount"], body_contains=["## Tests"])
GOOD = {"title": "Unknown discount codes", "body": "## Tests\n\nok", "branch": "opsbot/1-a"}


def failed(seen: PullRequestsSeen | None, expect: PullRequestExpect = EXPECT) -> list[str]:
    return [r.name for r in score_pull_requests(expect, seen) if not r.passed]


def test_the_expected_pull_request_passes_every_check() -> None:
    assert failed(PullRequestsSeen(opened=[GOOD], branches=["opsbot/1-a"])) == []


@pytest.mark.parametrize(
    ("seen", "check"),
    [
        (None, "the case ran in pull-request mode"),
        (PullRequestsSeen(), "1 pull request(s) opened"),
        (PullRequestsSeen(opened=[GOOD, GOOD]), "1 pull request(s) opened"),
        (PullRequestsSeen(opened=[GOOD], checkout_changed=True),
         "the operator's checkout is unchanged"),
        (PullRequestsSeen(opened=[{**GOOD, "title": "Fix it"}]), "each title says what it fixes"),
        (PullRequestsSeen(opened=[{**GOOD, "body": "no tests"}]), "the body has '## Tests'"),
        (PullRequestsSeen(opened=[GOOD], comments=1), "0 comment(s) on them"),
    ],
)  # fmt: skip
def test_each_shortfall_fails_its_check(seen: PullRequestsSeen | None, check: str) -> None:
    assert check in failed(seen)
