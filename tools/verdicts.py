"""Verdicts of the command policy: the class of a command and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from tools.shell.script import Script


class Verdict(IntEnum):
    """Ordered so the strictest of several is `max()`."""

    ALLOW = 0
    APPROVE = 1
    DENY = 2


@dataclass(frozen=True)
class Decision:
    """The class of a whole command, why, and (when allowed) the plain script that runs."""

    verdict: Verdict
    reasons: tuple[tuple[Verdict, str], ...]
    plan: Script | None = None

    @property
    def needs_shell(self) -> bool:
        """True when only a shell can run it (so only after approval)."""
        return self.plan is None

    @property
    def summary(self) -> str:
        """The reasons that decided the class, in one line."""
        deciding = [reason for verdict, reason in self.reasons if verdict == self.verdict]
        return "; ".join(dict.fromkeys(deciding)) or self.verdict.name.lower()


@dataclass
class Verdicts:
    """The strictest verdict so far, and every reason for approve or deny, in order."""

    verdict: Verdict = Verdict.ALLOW
    reasons: list[tuple[Verdict, str]] = field(default_factory=list)

    def add(self, verdict: Verdict, reason: str | None = None) -> None:
        """Raise the verdict to `verdict` (never lower it) and keep the reason."""
        if verdict > self.verdict:
            self.verdict = verdict
        if reason and verdict >= Verdict.APPROVE:
            self.reasons.append((verdict, reason))
