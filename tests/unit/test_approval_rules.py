"""Approver rules as pure decisions: allow-lists, channel overrides, self-approval, two people."""

from __future__ import annotations

from agents.approval_rules import ApprovalRules

RULES = ApprovalRules(
    approvers=("U0LEAD", "S0ONCALL"),
    channel_approvers={"C0PROD": ("U0SRE",)},
    no_self_approval_for=frozenset({"critical"}),
    two_person_for=frozenset({"critical"}),
)


def check(user: str, *, groups: set[str] | None = None, channel: str = "C0INC",
          risk: str = "critical", requester: str | None = "U0ONCALL",
          first: str | None = None, approving: bool = True):  # type: ignore[no-untyped-def]  # fmt: skip
    return RULES.check(user=user, user_groups=groups or set(), channel=channel, risk=risk,
                       requester=requester, first_approver=first, approving=approving)  # fmt: skip


def test_the_allow_list_admits_users_and_group_members_only() -> None:
    assert check("U0LEAD").allowed
    assert check("U0MEMBER", groups={"S0ONCALL"}).allowed
    stranger = check("U0VIEWER")
    assert not stranger.allowed
    assert stranger.reason == "you are not on the approvers list"


def test_a_channel_override_replaces_the_list() -> None:
    assert check("U0SRE", channel="C0PROD").allowed
    assert not check("U0LEAD", channel="C0PROD").allowed


def test_no_self_approval_for_critical_but_self_rejection_is_fine() -> None:
    own = check("U0ONCALL", groups={"S0ONCALL"})
    assert not own.allowed
    assert "no self-approval" in (own.reason or "")
    assert check("U0ONCALL", groups={"S0ONCALL"}, approving=False).allowed
    assert check("U0ONCALL", groups={"S0ONCALL"}, risk="write").allowed


def test_critical_needs_two_distinct_approvers() -> None:
    assert check("U0LEAD").approvals_needed == 2
    again = check("U0LEAD", first="U0LEAD")
    assert not again.allowed
    assert "second, different approver" in (again.reason or "")
    assert check("U0MEMBER", groups={"S0ONCALL"}, first="U0LEAD").allowed
    assert check("U0LEAD", risk="write").approvals_needed == 1


def test_an_empty_list_lets_anyone_in_the_channel_decide() -> None:
    open_rules = ApprovalRules()
    decision = open_rules.check(user="U0ANY", user_groups=set(), channel=None, risk="write",
                                requester=None, first_approver=None, approving=True)  # fmt: skip
    assert decision.allowed
    assert decision.approvals_needed == 1
