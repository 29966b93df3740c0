"""Who may decide: the approval rules, with Slack user-group membership looked up (cached)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from agents.approval_rules import ApprovalRules, RuleCheck
from bot.writer import SlackWriter

GROUP_TTL_S = 60.0


@dataclass
class Approvers:
    """Applies `ApprovalRules` to Slack users."""

    writer: SlackWriter
    rules: ApprovalRules
    _groups: dict[str, tuple[float, set[str]]] = field(default_factory=dict)

    async def _members(self, group: str) -> set[str]:
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < GROUP_TTL_S:
            return cached[1]
        try:
            response = await self.writer.call("usergroups.users.list", usergroup=group)
            members = set(response.get("users") or [])
        except SlackApiError:
            members = cached[1] if cached else set()
        self._groups[group] = (time.monotonic(), members)
        return members

    async def groups_of(self, user: str) -> set[str]:
        """The user groups named in the rules that `user` belongs to."""
        return {group for group in self.rules.groups() if user in await self._members(group)}

    async def may_approve(self, user: str, channel: str | None = None) -> bool:
        """On the allow-list that applies in `channel`."""
        return self.rules.is_approver(user, await self.groups_of(user), channel)

    async def check(
        self, user: str, channel: str | None, record: dict[str, Any], approving: bool
    ) -> RuleCheck:
        """Every rule, for this person and this approval."""
        return self.rules.check(
            user=user, user_groups=await self.groups_of(user), channel=channel,
            risk=str(record["risk"]), requester=record.get("requester"),
            first_approver=record.get("first_approved_by"), approving=approving,
        )  # fmt: skip

    def describe(self, channel: str | None = None) -> str:
        """The allow-list as Slack mentions."""
        allowed = self.rules.approvers_for(channel)
        return (
            ", ".join(f"<!subteam^{e}>" if e.startswith("S") else f"<@{e}>" for e in allowed)
            or "any channel member"
        )
