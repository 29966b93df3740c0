"""Who may decide an approval: allow-lists (per channel), no self-approval, two-person rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from core.settings import Settings

RISKS_BY_SETTING = {"none": frozenset(), "critical": frozenset({"critical"}),
                    "all": frozenset({"write", "critical"})}  # fmt: skip


class RuleCheck(BaseModel):
    """May this person decide, and how many distinct approvals does the action need?"""

    model_config = ConfigDict(frozen=True)

    allowed: bool
    reason: str | None = None
    approvals_needed: int = 1


@dataclass(frozen=True)
class ApprovalRules:
    """The configured rules; `check` is pure so every rule is tested without Slack."""

    approvers: tuple[str, ...] = ()
    channel_approvers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    no_self_approval_for: frozenset[str] = frozenset({"critical"})
    two_person_for: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> ApprovalRules:
        """The rules of OPSBOT_APPROVERS, OPSBOT_CHANNEL_APPROVERS, OPSBOT_SELF_APPROVAL, ..."""
        return cls(
            approvers=tuple(settings.approvers),
            channel_approvers={c: tuple(a) for c, a in settings.channel_approvers.items()},
            no_self_approval_for=RISKS_BY_SETTING[settings.no_self_approval],
            two_person_for=frozenset({"critical"}) if settings.two_person_critical else frozenset(),
        )

    def approvers_for(self, channel: str | None) -> tuple[str, ...]:
        """The allow-list that applies in a channel."""
        if channel and channel in self.channel_approvers:
            return self.channel_approvers[channel]
        return self.approvers

    def groups(self) -> set[str]:
        """Every user group named anywhere in the rules."""
        named = [*self.approvers, *(a for v in self.channel_approvers.values() for a in v)]
        return {entry for entry in named if entry.startswith("S")}

    def is_approver(self, user: str, user_groups: set[str], channel: str | None) -> bool:
        """On the allow-list (an empty list allows everyone who can see the card)."""
        allowed = self.approvers_for(channel)
        return not allowed or user in allowed or bool(user_groups & set(allowed))

    def check(
        self, *, user: str, user_groups: set[str], channel: str | None, risk: str,
        requester: str | None, first_approver: str | None, approving: bool,
    ) -> RuleCheck:  # fmt: skip
        """Whether `user` may approve (or reject) this approval, and how many approvals it needs."""
        if not self.is_approver(user, user_groups, channel):
            return RuleCheck(allowed=False, reason="you are not on the approvers list")
        if not approving:
            return RuleCheck(allowed=True)
        if risk in self.no_self_approval_for and requester is not None and user == requester:
            return RuleCheck(
                allowed=False,
                reason="you started this run, so someone else must approve it (no self-approval)",
            )
        needed = 2 if risk in self.two_person_for else 1
        if needed == 2 and first_approver == user:
            return RuleCheck(
                allowed=False,
                reason="you already approved; a second, different approver is needed",
                approvals_needed=2,
            )
        return RuleCheck(allowed=True, approvals_needed=needed)
