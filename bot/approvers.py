"""Who may approve: `OPSBOT_APPROVERS` users and user groups, checked on the server."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError

from bot.writer import SlackWriter

GROUP_TTL_S = 60.0


@dataclass
class Approvers:
    """The allow-list; empty means every member of the channel may approve."""

    writer: SlackWriter
    allowed: list[str]
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

    async def may_approve(self, user: str) -> bool:
        """Whether `user` is on the list (directly or through a user group)."""
        if not self.allowed:
            return True
        if user in self.allowed:
            return True
        for entry in self.allowed:
            if entry.startswith("S") and user in await self._members(entry):
                return True
        return False

    def describe(self) -> str:
        """The list as Slack mentions."""
        return (
            ", ".join(f"<!subteam^{e}>" if e.startswith("S") else f"<@{e}>" for e in self.allowed)
            or "any channel member"
        )
