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
    _names: dict[str, str] = field(default_factory=dict)

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

    async def display_name(self, user: str) -> str:
        """A person as others see them: "Real Name (@display_name)", from `users.info`.

        https://api.slack.com/methods/users.info (scope users:read). A user Slack does not
        know, or a failed look-up, gives the ID itself.
        """
        if user in self._names:
            return self._names[user]
        try:
            info = (await self.writer.call("users.info", user=user)).get("user") or {}
        except SlackApiError:
            return user
        profile = info.get("profile") or {}
        real = str(profile.get("real_name") or info.get("real_name") or "").strip()
        handle = str(profile.get("display_name") or info.get("name") or "").strip()
        name = f"{real} (@{handle})" if real and handle and real != handle else real or handle
        self._names[user] = name or user
        return self._names[user]

    async def names(self, channel: str | None = None, excluding: str | None = None) -> list[str]:
        """Who may approve in `channel`, by name: user groups resolved to their members."""
        people: list[str] = []
        for entry in self.rules.approvers_for(channel):
            members = sorted(await self._members(entry)) if entry.startswith("S") else [entry]
            people.extend(m for m in members if m != excluding and m not in people)
        return [await self.display_name(person) for person in people]

    async def describe(self, channel: str | None = None, excluding: str | None = None) -> str:
        """One sentence: who else may approve in `channel`, by name (never a raw group ID)."""
        if not self.rules.approvers_for(channel):
            return "Any member of this channel can approve it."
        names = await self.names(channel, excluding)
        if not names:
            return "Nobody else on the approvers list can approve it (see OPSBOT_APPROVERS)."
        return f"Who can approve it: {', '.join(names)}."
